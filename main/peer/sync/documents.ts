/**
 * Documents: the peer's own Automerge copies, loaded on demand from a snapshot plus the changes
 * after it, and the one write path every change takes. Own changes are made in memory, published,
 * then committed (the client is answered after the commit). Teammates' changes are applied and
 * shown to clients first, then committed, those that came live within `REMOTE_COMMIT_WITHIN_MS`
 * together with whatever else commits by then: a teammate holds them, so if this peer stops before
 * the commit, catch-up brings them back. Remote changes that arrive in a
 * burst are applied in batches, because applying one change per call gets slow as history grows.
 *
 * This file holds the write path and what catch-up asks of the documents; the rest is split by
 * role: the listing cache and read marks (listing.ts), the documents in memory and their snapshots
 * (doc-cache.ts), the batching of remote changes (remote-batch.ts), and what this device made with no
 * connection, which leaves as runs (runs.ts).
 */
import * as A from '@automerge/automerge'
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { GrapevineError } from '../../../shared/protocol.ts'
import { WRITER_ROLES } from '../../../shared/types.ts'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { newActorId, type Device } from '../identity/device.ts'
import { sha256 } from '../identity/keys.ts'
import type { ChangeLog, ChangeRecord, ChangeRow, DocumentRow, Durable, ListingStore, MetaStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { EpochKey } from '../crypto/epoch.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { maxOf, type Log } from '../log.ts'
import { coverEnvelopeOf, sealChange, type ValidChange } from './change-validation.ts'
import { ChangeFormatError, readChange, type ChangeRead } from './change-read.ts'
import { OwnCovers } from './own-covers.ts'
import { applyForRuns, changesIn, Runs, type OwnChange } from './runs.ts'
import { linksBeyond, SealedLog } from './sealed-log.ts'
import type { DocContent } from '../../../shared/doc-content.ts'
import { headsKey, initContent, kindOf, setText, textSplices, type GDoc } from './doc-content.ts'
import { DocKinds } from './doc-kinds.ts'
import type { DocKind } from '../../../shared/board.ts'
import { Listing } from './listing.ts'
import { DocCache, FIRST_SNAPSHOT_CHANGES, Loaded } from './doc-cache.ts'
import { RemoteBatch } from './remote-batch.ts'
import { KnownEffects, type OpsEffect } from './change-effect.ts'

export interface DocumentEvents {
  /** Changes newly applied to a document; `origin` is the client that sent them, if any. */
  changes: [docId: string, changes: Uint8Array[], origin: unknown]
  /** This device's own new changes, durable, to be published. */
  local: [workspaceId: string, docId: string, items: SignedChange[]]
  /** A document was created, renamed, deleted or changed (`docId`; absent: any of the workspace's): listings are stale. */
  list: [workspaceId: string, docId?: string]
  /** A document's heads moved. */
  heads: [workspaceId: string, docId: string]
  /** Someone other than this device changed a document. */
  activity: [workspaceId: string, docId: string, by: string]
}

export interface DocumentsOptions {
  /** How long remote changes wait to be applied together. */
  batchMs: number
  /** Snapshot a document after this many new changes. */
  snapshotEvery: number
  /** Changes a document has before its first snapshot (default 64: doc-cache.ts `maybeSnapshot`). */
  firstSnapshotAfter?: number
  /** Documents kept in memory when no client holds them open. */
  maxLoaded: number
  /**
   * Whether anything this device publishes now could reach anyone (it has a connection). Changes made
   * while it cannot are kept to leave as runs (runs.ts). Absent: always, and no runs form.
   */
  online?: () => boolean
  /** Unsent changes are sealed into runs this long after the last one (default runs.ts `SEAL_IDLE_MS`). */
  sealIdleMs?: number
  /** When own changes left alone go under covers (defaults: own-covers.ts `COVER_IDLE_MS`, `COVER_MIN`). */
  covers?: { idleMs?: number; min?: number }
  /** The clock (ms) that times applying changes (`DocCache`'s deferred passes; CPU time for runs.ts `applyForRuns`); a test may pass its own. */
  now?: () => number
  log: Log
}

/** This process's CPU time (ms). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * When a batch of changes commits: `now` for a client's edit, whose acknowledgement waits on it (the
 * fsync runs while it is applied); `turn` with the other writes of this turn of the event loop; `soon`
 * within `REMOTE_COMMIT_WITHIN_MS`, with whatever else commits by then.
 */
type CommitWhen = 'now' | 'turn' | 'soon'

/**
 * A teammate's changes that came live (or by gossip) are applied and shown at once, and commit within
 * this long, together with the next client edit's commit if one comes first: while teammates type, a
 * peer makes one commit (and fsync) for several of their keystrokes instead of one each. Nobody waits
 * on it: they are in memory and shown already, their author and every teammate hold them, and if this
 * peer stops before the commit, catch-up brings them back. Catch-up's own changes commit in their turn
 * (its session waits on them). The 'heads' event, and so the heads this peer announces, follows the commit.
 */
export const REMOTE_COMMIT_WITHIN_MS = 250

/** Teammates' heads (per document) whose lacked changes `ownLackedBy` remembers, the least recently asked dropped first. */
const LACKED_CACHE_SIZE = 256
/** `missingFor` walks the log's own deps for a document of at most this many rows (see `rowsBeyond`). */
const ROW_WALK_MAX = 2_048

/** What documents are kept with (libp2p-style: components here, options apart, as a libp2p service's init). */
export interface DocumentsComponents {
  store: Durable & MetaStore & ListingStore & ChangeLog
  device: Device
  workspaces: Workspaces
  keys: EpochKeys
}

export class Documents extends EventEmitter<DocumentEvents> {
  private readonly actor: string
  private readonly store: Durable & MetaStore & ListingStore & ChangeLog
  private readonly device: Device
  private readonly workspaces: Workspaces
  private readonly keys: EpochKeys
  private readonly opts: DocumentsOptions
  /** Times deferred passes (`DocCache`). */
  private readonly clock: () => number
  /** Times a client's changes applied at once (runs.ts `applyForRuns`): CPU, which a busy machine does not stretch. */
  private readonly cpuClock: () => number
  /** Listing rows (visible before their commit) and read marks. */
  private readonly listing: Listing
  /** Remote changes buffered per document, and the writes in flight. */
  private readonly batch: RemoteBatch
  /** The documents in memory, and their snapshots. */
  private readonly cache: DocCache
  /** A keeper's view of the documents it stores sealed: hashes and deps only. */
  private readonly sealed: SealedLog
  /** Own changes made while nothing could reach anyone, and the runs they leave as. */
  private readonly runs: Runs
  /** Own changes that left alone, put under covers once typing pauses. */
  private readonly covers: OwnCovers
  /** Which documents are boards. */
  private readonly kinds: DocKinds
  /** What lately stored changes do, by hash, from the decode they got on arrival: history counts them from it. */
  private readonly effects = new KnownEffects()
  /** What `ownLackedBy` found, per document and teammate heads, at our heads then. */
  private readonly lackedCache = new Map<string, { ourHeads: string[]; changes: number; firstSeq: number | null }>()

  constructor(components: DocumentsComponents, opts: DocumentsOptions) {
    super()
    const { store, device, workspaces, keys } = components
    this.store = store
    this.device = device
    this.workspaces = workspaces
    this.keys = keys
    this.opts = opts
    this.clock = opts.now ?? (() => performance.now())
    this.cpuClock = opts.now ?? cpuMs
    this.sealed = new SealedLog(store)
    this.actor = newActorId(device)
    this.kinds = new DocKinds(store, opts.log)
    this.listing = new Listing({ store, device, workspaces, events: this, log: opts.log })
    this.batch = new RemoteBatch({
      store,
      persist: (ws, docId, changes, soon) => this.persist(ws, docId, changes, false, undefined, soon ? 'soon' : 'turn'),
      batchMs: opts.batchMs,
      hurry: () => void this.commitWaiting().catch(() => {}),
      log: opts.log,
    })
    this.cache = new DocCache({
      store,
      device,
      workspaces,
      keys,
      listing: this.listing,
      buffered: (docId) => this.batch.has(docId),
      actor: this.actor,
      snapshotEvery: opts.snapshotEvery,
      firstSnapshotAfter: opts.firstSnapshotAfter ?? FIRST_SNAPSHOT_CHANGES,
      maxLoaded: opts.maxLoaded,
      now: this.clock,
      log: opts.log,
    })
    this.runs = new Runs({
      store,
      device,
      keys,
      cache: this.cache,
      online: opts.online,
      sealIdleMs: opts.sealIdleMs,
      publish: (ws, docId, items) => this.emit('local', ws, docId, items),
      log: opts.log,
    })
    this.covers = new OwnCovers(
      {
        store,
        device,
        keys,
        cache: this.cache,
        canWrite: (ws) => WRITER_ROLES.includes(workspaces.roleOf(ws, device.deviceId) ?? 'viewer'),
        kept: (docId) => this.runs.kept(docId),
        publish: (ws, docId, items) => this.emit('local', ws, docId, items),
        log: opts.log,
      },
      opts.covers,
    )
    // What this device holds of a member whose write right was revoked stays valid for everyone (see endorse).
    workspaces.on('members', (ws) => void this.endorse(ws))
    for (const ws of workspaces.ids()) void this.endorse(ws)
  }

  /** One endorsement pass at a time per workspace. */
  private readonly endorsing = new Map<string, Promise<void>>()

  /**
   * For every revocation of a write right (a removal, a leave, a demotion to viewer) that takes
   * effect here, signs an empty change on every document of the workspace the revoked device wrote
   * in: its deps are this device's heads, so it vouches for every change of theirs this device had
   * accepted, which then stays valid on every peer, for a late joiner too (change-validation.ts:
   * removal wins only over what no member held). Revocations already endorsed are recorded after
   * each pass, so one learned just before a crash is endorsed on restart, and, the first time a
   * profile of an older version runs, the history of everyone revoked before.
   */
  private endorse(workspaceId: string): Promise<void> {
    const next = (this.endorsing.get(workspaceId) ?? Promise.resolve())
      .then(() => this.endorseNow(workspaceId))
      .catch((err: Error) => this.opts.log('warn', `endorsing history in ${workspaceId}: ${err.message}`))
    this.endorsing.set(workspaceId, next)
    return this.batch.track(next)
  }

  private async endorseNow(workspaceId: string): Promise<void> {
    const key = `endorsed-revocations:${workspaceId}`
    const revocations = this.workspaces.writeRevocations(workspaceId)
    const now = JSON.stringify(revocations.map((r) => r.op).sort())
    const recorded = this.store.getMeta(key)?.toString()
    if (recorded === now) return
    const done = new Set(recorded ? (JSON.parse(recorded) as string[]) : [])
    const revoked = [...new Set(revocations.filter((r) => !done.has(r.op)).map((r) => r.device))]
    const role = this.workspaces.roleOf(workspaceId, this.device.deviceId)
    if (revoked.length && role !== undefined && WRITER_ROLES.includes(role)) {
      // Changes accepted before the revocation but still buffered are endorsed too: apply them first.
      await this.batch.fireWorkspace(workspaceId)
      const docs = this.store.docsWrittenBy(workspaceId, revoked)
      const key = docs.length ? await this.keys.sealing(workspaceId) : null
      for (const docId of docs) {
        const l = this.cache.load(docId)
        await this.commitOwn(docId, l, A.emptyChange(l.doc), key!)
      }
      if (docs.length)
        this.opts.log('info', `endorsed ${docs.length} documents written by ${revoked.length} revoked writers of ${workspaceId}`)
    }
    await this.store.write(() => this.store.setMeta(key, now))
  }

  /** The document's row, if this device may see it. */
  row(docId: string): DocumentRow {
    return this.listing.row(docId)
  }

  list(workspaceId: string, includeDeleted = false): DocumentRow[] {
    return this.listing.list(workspaceId, includeDeleted)
  }

  /** The rows of those of `docIds` that are the workspace's, deleted or not, in the listing's order. */
  rows(workspaceId: string, docIds: readonly string[]): DocumentRow[] {
    return this.listing.rows(workspaceId, docIds)
  }

  heads(docId: string): string[] {
    return this.cache.heads(docId)
  }

  /** One digest per document of the workspace: equal digests mean equal heads. */
  digests(workspaceId: string): [string, Uint8Array][] {
    return this.store.listDocuments(workspaceId).map((r) => [r.id, this.digest(r.id)])
  }

  /** The document's digest (as in `digests`). */
  digest(docId: string): Uint8Array {
    return sha256(headsKey(this.heads(docId))).subarray(0, 16)
  }

  content(docId: string): { title: string; text: string; deleted: boolean; heads: string[] } {
    return this.cache.content(docId)
  }

  /** Text or board, as last seen here (without loading the document). */
  kindOf(docId: string): DocKind {
    return this.kinds.kindOf(docId)
  }

  /** Reads the document as it is in memory (loading it if need be); `fn` must not keep it. */
  read<T>(docId: string, fn: (doc: GDoc) => T): T {
    const l = this.cache.load(docId)
    this.kinds.note(docId, kindOf(l.doc))
    return fn(l.doc)
  }

  /** The document in Automerge, as this device holds it now (loaded if it is not); a reader's only. */
  automerge(docId: string): GDoc {
    return this.cache.load(docId).doc
  }

  /**
   * The document as applied so far, without changes still waiting to be applied together (loaded if it
   * is not), and whether it holds every change taken: for work that can follow later (history counting)
   * and must not apply a long text's waiting keystrokes ahead of their time.
   */
  appliedAutomerge(docId: string): { doc: GDoc; complete: boolean } {
    const l = this.cache.load(docId)
    return { doc: l.applied(), complete: l.deferred === 0 }
  }

  /** The whole document for a client, which then follows `changes` events. Keeps it loaded until `release`. */
  hold(docId: string): { bytes: Uint8Array; heads: string[] } {
    return this.cache.hold(docId)
  }

  /** What a change stored lately does, as its decode on arrival said (undefined: not known, decode it). */
  effectOf(hash: string): OpsEffect | undefined {
    return this.effects.get(hash)
  }

  /** This device has seen the document as it is now: its heads are kept (what changed since is what is new). */
  markRead(docId: string): Promise<void> {
    return this.listing.markRead(docId, this.heads(docId))
  }

  follows(docId: string): boolean {
    return this.listing.follows(docId)
  }

  /** Documents changed by someone else since this device last saw them. */
  unread(rows: DocumentRow[]): Set<string> {
    return this.listing.unread(rows)
  }

  release(docId: string): void {
    this.cache.release(docId)
  }

  private assertWriter(workspaceId: string): void {
    const role = this.workspaces.roleOf(workspaceId, this.device.deviceId)
    if (role === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${workspaceId}.`)
    if (!WRITER_ROLES.includes(role)) throw new GrapevineError('forbidden', `A ${role} cannot change documents.`)
  }

  async create(workspaceId: string, title: string, text: string): Promise<DocumentRow> {
    // A long text goes in as several changes, each under the wire's cap (setText).
    if (text.length > TEXT_STEP_CHARS) {
      const row = await this.create(workspaceId, title, '')
      await this.setText(row.id, text)
      return this.row(row.id)
    }
    return this.createWith(workspaceId, title, (d) => initContent(d, title, text))
  }

  /** A new document whose first change is `init` (a text document's, or a board's). */
  async createWith(workspaceId: string, title: string, init: (d: DocContent) => void): Promise<DocumentRow> {
    this.assertWriter(workspaceId)
    const key = await this.keys.sealing(workspaceId)
    const docId = randomBytes(16).toString('hex')
    const now = Date.now()
    const doc = A.change(A.init<DocContent>({ actor: this.actor }), init)
    const bytes = sendableChange(doc)
    this.kinds.note(docId, kindOf(doc))
    this.cache.put(docId, new Loaded(doc, workspaceId, { lastUsed: now }))
    const row: DocumentRow = {
      id: docId,
      workspaceId,
      title,
      heads: A.getHeads(doc),
      createdAt: now,
      lastChangeAt: now,
      lastChangeBy: this.device.deviceId,
      deleted: false,
      changeCount: 0,
      lastRemoteAt: 0,
    }
    // The row and the first change in one commit; the change is made and published before any
    // await, so an edit by another client meanwhile builds on it and is never put back.
    const rowWritten = this.store.write(() => {
      this.store.upsertDocument(row)
      this.store.markRead(docId, now)
    })
    await Promise.all([rowWritten, this.commitOwn(docId, this.cache.peek(docId)!, doc, key, bytes)])
    return this.row(docId)
  }

  /**
   * An edit made by the peer itself (CLI, rename, delete, set text, boards). `fn` is also given the
   * document the change starts from, to read (much cheaper than reading the draft). Resolves with the
   * heads once durable.
   */
  async edit(docId: string, fn: (d: DocContent, current: GDoc) => void): Promise<string[]> {
    const row = this.row(docId)
    this.assertWriter(row.workspaceId)
    const key = await this.keys.sealing(row.workspaceId)
    const l = this.cache.load(docId)
    const before = A.getHeads(l.doc)
    const current = l.doc
    const doc = A.change(current, (d) => fn(d, current))
    if (headsKey(A.getHeads(doc)) === headsKey(before)) return before
    let bytes: Uint8Array | null
    try {
      bytes = sendableChange(doc)
    } catch (err) {
      // Not stored, not sent: the copy in memory, which has it, is dropped and loads again from the store.
      this.cache.drop(docId)
      throw err
    }
    await this.commitOwn(docId, l, doc, key, bytes)
    return A.getHeads(this.cache.peek(docId)?.doc ?? doc)
  }

  /**
   * Sets the document's text: by a character diff when that is cheap, else by splices of the middle in
   * as many changes as keep each under the wire's cap (textSplices). Resolves with the heads.
   */
  async setText(docId: string, text: string): Promise<string[]> {
    const splices = textSplices(this.content(docId).text, text, TEXT_STEP_CHARS)
    if (!splices) return this.edit(docId, (d) => setText(d, text))
    let heads = this.heads(docId)
    for (const s of splices) heads = await this.edit(docId, (d) => A.splice(d, ['text'], s.at, s.del, s.insert))
    return heads
  }

  /**
   * Seals, signs, commits and announces the change that made `doc` (`bytes`, when the caller has them:
   * reading a large change out of the document again costs tens of milliseconds). `key`: the epoch key to seal with.
   */
  private async commitOwn(
    docId: string,
    l: Loaded,
    doc: GDoc,
    key: EpochKey,
    bytes: Uint8Array | null = A.getLastLocalChange(doc) ?? null,
  ): Promise<void> {
    l.doc = doc
    if (!bytes) return
    const { item, change } = sealChange(this.device, key, l.ws, docId, bytes, this.workspaces.heads(l.ws))
    // Published before the commit: a teammate that has it keeps it if this peer crashes first, and
    // catch-up brings it back here. The caller is answered after the commit.
    this.publish(l.ws, docId, [item], [change])
    await this.persist(l.ws, docId, [change], true)
  }

  /** Own new changes: published now if anyone could hear, else kept to leave as runs (runs.ts). */
  private publish(ws: string, docId: string, items: SignedChange[], changes: ValidChange[]): void {
    if (items.length === 0 || this.runs.keep(ws, docId, changes)) return
    // What was made before goes first, as runs: the new change builds on it.
    this.runs.seal(docId, true)
    this.emit('local', ws, docId, items)
    this.covers.sent(ws, docId)
  }

  /** Seals what this device made with no connection into runs, now (runs.ts `Runs.seal`). */
  sealRuns(docId?: string): void {
    this.runs.seal(docId)
  }

  /** Seals this device's changes a crash (or a sealing that failed) left unsigned in the log (runs.ts `Runs.recover`); returns how many there were. */
  sealUnsigned(): number {
    return this.runs.recover()
  }

  /** Whether this device holds the change: stored, or taken by the document in memory. Loads nothing. */
  holds(docId: string, hash: string): boolean {
    return this.cache.peek(docId)?.has(hash) === true || this.store.hasChange(docId, hash)
  }

  /** Whether the change was left out of the document here because it does not apply (sync/quarantine.ts). */
  refuses(docId: string, hash: string): boolean {
    return this.cache.refuses(docId, hash)
  }

  /** Changes to the document taken and not applied to it yet (doc-cache.ts `Loaded.defer`). */
  deferred(docId: string): number {
    return this.cache.peek(docId)?.deferred ?? 0
  }

  /** Runs sealed here, and the changes they hold. */
  get runStats(): Runs['stats'] {
    return this.runs.stats
  }

  /** Puts own changes that wait for typing to pause under covers now, and sends them (the peer is stopping). */
  coverWaiting(): Promise<void> {
    return this.covers.now()
  }

  /** Covers made here of own changes that left alone, and the changes they hold. */
  get coverStats(): OwnCovers['stats'] {
    return this.covers.stats
  }

  /**
   * Changes made by a client's replica of the document. Resolves with the heads once durable. Several
   * made one after another (a burst) leave as runs when the document is cheap to apply to (runs.ts).
   */
  async applyClientChanges(docId: string, changes: Uint8Array[], origin: unknown): Promise<string[]> {
    const row = this.row(docId)
    this.assertWriter(row.workspaceId)
    const key = await this.keys.sealing(row.workspaceId)
    const checked: OwnChange[] = []
    // Signed under the membership this device holds now: what its role is judged by, here and everywhere.
    const m = this.workspaces.heads(row.workspaceId)
    const l = this.cache.load(docId)
    const batch = new Set<string>()
    for (const bytes of changes) {
      if (bytes.byteLength > MAX_CHANGE_BYTES)
        throw new GrapevineError('too-large', `A change of ${bytes.byteLength} bytes is over the limit.`)
      let read: ChangeRead
      try {
        read = readChange(bytes)
      } catch (err) {
        if (!(err instanceof ChangeFormatError)) throw err
        throw new GrapevineError('bad-request', `Not an Automerge change: ${err.message}`)
      }
      if (read.actor.length !== 48 || !read.actor.startsWith(this.device.actorPrefix)) {
        throw new GrapevineError(
          'bad-request',
          `Change actor ${read.actor} is not one of this device's; make the replica's actor with this device's prefix.`,
        )
      }
      // Builds only on what this peer holds, or on a change earlier in the request: a client's
      // changes leave in causal order, so one that does not is refused, never stored as an orphan
      // (after a refused request, those the page sent behind it are refused the same way).
      const missing = read.deps.filter((d) => !batch.has(d) && !l.has(d))
      if (missing.length)
        throw new GrapevineError(
          'bad-request',
          `Change ${read.hash.slice(0, 12)} depends on changes this peer does not have (${missing.map((h) => h.slice(0, 12)).join(', ')}).`,
        )
      // A replica that sends a change twice publishes and stores it once (the document knows it: the
      // log may hold it inside a run).
      if (!batch.has(read.hash) && !l.has(read.hash)) checked.push({ plain: bytes, read })
      batch.add(read.hash)
    }
    this.listing.follow(docId)
    const at = { ws: row.workspaceId, docId, m }
    // With no connection at all: stored unsigned, sealed and signed once in runs (runs.ts).
    const held = this.runs.hold(key, at, checked)
    if (held) {
      await this.persist(row.workspaceId, docId, held, false, origin, 'now')
      return this.heads(docId)
    }
    const applied = this.applyNow(l, checked)
    const { items, valid } = this.runs.sealLive(key, at, checked, applied ? l.applied() : null)
    // Published before the commit (see commitOwn).
    this.publish(row.workspaceId, docId, items, valid)
    await this.persist(row.workspaceId, docId, valid, applied, origin, 'now')
    return this.heads(docId)
  }

  /**
   * A client's changes applied at once to leave as runs (runs.ts `applyForRuns`). If Automerge refuses
   * them (a change that decodes but names what the document does not hold), the request is refused
   * before anything is published or stored, and the document is as it was.
   */
  private applyNow(l: Loaded, changes: OwnChange[]): boolean {
    try {
      return applyForRuns(l, changes, this.cpuClock)
    } catch (err) {
      throw new GrapevineError('bad-request', `These changes do not apply to the document: ${(err as Error).message}`)
    }
  }

  /**
   * Validated changes from a peer: buffered per document, then applied and committed together. `live`:
   * they came live or by gossip, and commit within `REMOTE_COMMIT_WITHIN_MS` (nobody waits on it).
   */
  ingest(workspaceId: string, docId: string, changes: ValidChange[], live = false): Promise<void> {
    return this.batch.ingest(workspaceId, docId, changes, live)
  }

  /**
   * Commits now the teammates' changes that wait for their commit (`REMOTE_COMMIT_WITHIN_MS`): before
   * catch-up reads the log to send what a peer lacks, so that it sends all that is shown here.
   */
  commitWaiting(): Promise<void> {
    return this.store.commitQueued()
  }

  /** Waits until every buffered remote change has been committed and applied. */
  settle(): Promise<void> {
    return this.batch.settle()
  }

  /**
   * The write path. `alreadyApplied` is true for the peer's own edits, which exist in memory first.
   * Teammates' changes a reader can open are applied and shown before the commit (see the top of
   * this file); a keeper's, or clear changes of an older version, after it. Duplicates (same
   * document and hash) are dropped by the store, and are not shown twice.
   */
  private async persist(
    workspaceId: string,
    docId: string,
    changes: ValidChange[],
    alreadyApplied: boolean,
    origin?: unknown,
    when: CommitWhen = 'turn',
  ): Promise<ChangeRow[]> {
    const commitFirst = when === 'now'
    const now = Date.now()
    for (const c of changes) for (const [hash, e] of c.effects ?? []) this.effects.add(hash, e)
    // An empty change (an endorsement of history, see endorse) is no edit: it moves no "last change".
    const edits = changes.filter((c) => !c.empty)
    const newest = edits.length ? edits.reduce((a, b) => (b.time > a.time ? b : a)) : null
    const last = newest && { at: Math.min(now, Math.round(newest.time * 1000)) || now, by: newest.author }
    const early = !alreadyApplied && !this.cache.keeps(workspaceId) && changes.every((c) => c.plain !== null)
    const l = early ? this.cache.loadOrStart(docId, workspaceId) : undefined
    // What the document holds already (or this batch twice) is neither stored nor applied again: a change
    // that arrives alone though this device holds it inside a run (only its author could send both)
    // would otherwise be stored twice.
    const seen = new Set<string>()
    // Nor a change left out of the document because it does not apply (sync/quarantine.ts), nor a cover that
    // holds one: what else it held was taken from it then. A cover (covers.ts) is written even when the document
    // holds all its changes: a reader then keeps its one bundle in place of their envelopes. It is applied only
    // if it brings a change the document lacks.
    const written = l
      ? changes.filter(
          (c) =>
            !seen.has(c.hash) &&
            seen.add(c.hash) &&
            (c.covered !== undefined || !l.has(c.hash)) &&
            !(c.covered ?? [c]).some((x) => this.cache.refuses(docId, x.hash)),
        )
      : changes
    const stored = l ? written.filter((c) => !(c.covered ?? [c]).every((x) => l.has(x.hash))) : changes
    /** The changes the document gains: a cover's that it held already are not counted again. */
    const gained = l
      ? stored.reduce((sum, c) => sum + (c.covered ? c.covered.filter((x) => !l.has(x.hash)).length : c.n), 0)
      : changesIn(stored)
    /** Whether the listing row already shows these changes (it does once they are applied, if the document has a row). */
    let listed = false
    let rowsWritten: DocumentRow[] = []
    const commit = (): ChangeRow[] => {
      // A client's own edit (typing) carries the listing rows only once they are due (listing.ts); a
      // teammate's changes carry them at once, so the rows follow what arrived as soon as it is stored.
      rowsWritten = commitFirst ? this.listing.writeDueRows() : this.listing.writeDirtyRows()
      if (this.store.documentWorkspace(docId) === undefined) {
        this.store.upsertDocument({
          id: docId,
          workspaceId,
          title: '',
          heads: [],
          createdAt: now,
          lastChangeAt: now,
          lastChangeBy: null,
          deleted: false,
          changeCount: 0,
          lastRemoteAt: 0,
        })
      }
      return this.writeChanges(docId, written, now)
    }
    // A client's own edit is waited on (its acknowledgement): committed first, so that its fsync runs on the
    // thread pool while the edit is applied here. Its listing row then rides in the next commit.
    const firstWrite = commitFirst ? this.store.writeNow(commit) : undefined
    /** The heads before a batch that did not apply: what clients are shown the changes since, once it is in the log. */
    let failedAt: string[] | null = null
    if (l) {
      l.unsaved++
      // The new ones only: each stored once, not shown twice.
      if (stored.length) {
        const before = l.heads()
        try {
          const shown = this.applyTo(docId, l, stored)
          if (shown.length) this.emit('changes', docId, shown, origin)
          listed = this.listing.refreshRow(docId, l, last, gained)
        } catch (err) {
          // One of them decodes but does not apply (sync/quarantine.ts). They are committed all the same,
          // and the document loads again from its log, which leaves out what does not apply.
          this.opts.log('warn', `${docId}: ${stored.length} changes did not apply (${(err as Error).message}); it loads again from its log`)
          l.broken = true
          failedAt = before
        }
      }
    }
    const write = firstWrite ?? (when === 'soon' ? this.store.writeSoon(commit, REMOTE_COMMIT_WITHIN_MS) : this.store.write(commit))
    const rows = await write
      .catch((err: unknown) => {
        // Rolled back with the changes: the listing rows it carried wait for the next commit again.
        this.listing.rowsRolledBack(rowsWritten)
        throw err
      })
      .finally(() => {
        if (l) l.unsaved--
      })
    this.listing.rowsDurable(rowsWritten)
    if (rows.length === 0) return rows
    if (changes.some((c) => c.plain === null) || this.cache.keeps(workspaceId)) return this.keepSealed(workspaceId, docId, rows, changes)
    // A teammate that sealed with a key has it: what "2 of 4 teammates have the new key" counts.
    for (const c of changes) if (c.epoch !== null && c.author !== this.device.deviceId) this.keys.confirm(workspaceId, c.author, c.epoch)
    // Own edits are in memory already, and teammates' were applied above. An own document evicted
    // meanwhile, or one whose batch did not apply, loads again from the store, which now has them.
    const doc = l && !l.broken ? l : this.cache.load(docId)
    if (failedAt && this.cache.watched(docId)) {
      const since = failedAt.filter((h) => doc.has(h))
      if (since.length) this.emit('changes', docId, A.getChangesSince(doc.doc, since), origin)
    }
    doc.lastSeq = maxOf(
      rows.map((r) => r.seq),
      doc.lastSeq,
    )
    doc.sinceSnapshot += rows.length
    doc.changesSinceSnapshot += changesIn(rows)
    if (!listed) this.listing.refreshRow(docId, doc, last, changesIn(rows))
    this.kinds.note(docId, doc.header().board ? 'board' : 'text')
    this.cache.maybeSnapshot(docId, doc)
    if (alreadyApplied) {
      // Clients take changes: a run made here from a client's changes shows them one by one.
      const shownByHash = new Map(changes.map((c) => [c.hash, c.parts ?? [c.plain!]]))
      this.emit(
        'changes',
        docId,
        rows.flatMap((r) => shownByHash.get(r.hash)!),
        origin,
      )
    }
    this.emit('heads', workspaceId, docId)
    if (newest && newest.author !== this.device.deviceId) this.emit('activity', workspaceId, docId, newest.author)
    return rows
  }

  /** A stored cover (covers.ts) as it is sent: its envelope as its author signed it. */
  coverEnvelope(id: number): SignedChange {
    const c = this.store.getCover(id)
    if (!c) throw new GrapevineError('internal', `Cover ${id}, which rows of the log name, is not stored.`)
    return coverEnvelopeOf(c)
  }

  /**
   * Stores changes in their order: envelopes and runs as rows, a cover (covers.ts) with a row for each of its
   * changes the log lacks. A reader, which opened and checked the cover, also gives the envelopes of its
   * author that it holds up to it; a keeper, which cannot check it, keeps them. Returns the new rows.
   */
  private writeChanges(docId: string, changes: ValidChange[], now: number): ChangeRow[] {
    const rows: ChangeRow[] = []
    let alone: ValidChange[] = []
    const flush = (): void => {
      if (alone.length) rows.push(...this.store.appendChanges(docId, alone.map(recordOf), now))
      alone = []
    }
    for (const c of changes) {
      if (!c.covered) {
        alone.push(c)
        continue
      }
      // Checked covers carry what they were signed with (change-validation.ts); stored without it, one would not verify again.
      if (!c.coverWire || c.epoch === null) throw new GrapevineError('internal', `cover ${c.hash} of ${docId} without its fields as signed`)
      flush()
      const cover = { author: c.author, signature: c.signature, bytes: c.bytes, epoch: c.epoch, m: c.m, deps: c.deps, ...c.coverWire }
      rows.push(...this.store.putCover(docId, cover, c.covered, now, c.plain !== null).added)
    }
    flush()
    return rows
  }

  /**
   * A keeper's store-and-forward: the rows are stored as signed; the listing gets their heads from
   * the hashes and deps signed in clear, and no title (it cannot read one). Announced like any change.
   */
  private keepSealed(workspaceId: string, docId: string, rows: ChangeRow[], changes: ValidChange[]): ChangeRow[] {
    this.cache.drop(docId)
    this.sealed.add(docId, rows)
    const base = this.listing.current(docId)
    if (base) {
      const now = Date.now()
      this.listing.putRow(workspaceId, {
        ...base,
        heads: this.sealed.heads(docId),
        changeCount: base.changeCount + changesIn(rows),
        lastChangeAt: now,
        lastChangeBy: changes.at(-1)!.author,
        lastRemoteAt: now,
      })
    }
    this.emit('heads', workspaceId, docId)
    return rows
  }

  /** After a crash the listing cache may lag the change log: reload the documents where it does. */
  repairListings(): number {
    const counts = this.store.changeCounts()
    let repaired = 0
    for (const ws of this.workspaces.ids()) {
      if (this.cache.keeps(ws)) continue
      for (const row of this.store.listDocuments(ws)) {
        if ((counts.get(row.id) ?? 0) !== row.changeCount) {
          // The loaded document itself: the load's eviction pass may already have dropped it from the cache.
          const l = this.cache.load(row.id)
          this.listing.refreshRow(row.id, l, null, 0)
          this.kinds.note(row.id, kindOf(l.doc))
          repaired++
        }
      }
    }
    return repaired
  }

  /** Changes that changes held here name as deps but that are not here: changes someone built on. */
  missingDeps(docId: string): string[] {
    const row = this.store.getDocument(docId)
    if (!row) return []
    if (this.cache.keeps(row.workspaceId)) return this.sealed.missingDeps(docId)
    return A.getMissingDeps(this.cache.load(docId).doc, [])
  }

  /**
   * Whether this device holds every change of `heads` with its whole history. A change stored before
   * its deps arrived is not enough: catch-up must ask for what lies under it.
   */
  knows(docId: string, heads: string[]): boolean {
    const row = this.store.getDocument(docId)
    if (!row) return heads.length === 0
    if (this.cache.keeps(row.workspaceId))
      return heads.every((h) => this.store.hasChange(docId, h)) && this.sealed.missingDeps(docId).length === 0
    return A.hasHeads(this.cache.load(docId).doc, heads)
  }

  /**
   * Signed changes a peer lacks, by what it said it holds: the causal past of `theirHeads`, and the
   * changes its have-set names, if it sent one (sync/ancestry.ts). A head not known here means the
   * peer holds changes this device lacks, so without a have-set it cannot tell which of its own the
   * peer holds: it then sends nothing (the side that knows both heads sends first, catch-up asks
   * again with a have-set), never the history the peer may already have.
   */
  missingFor(docId: string, theirHeads: string[], theyHave?: { has(hash: string): boolean }): ChangeRow[] {
    const row = this.store.getDocument(docId)
    if (!row) return []
    let rows: ChangeRow[]
    if (this.cache.keeps(row.workspaceId)) {
      if (!theyHave && !this.knows(docId, theirHeads)) return []
      rows = theirHeads.length === 0 ? this.store.changesAfter(docId, 0) : this.sealed.missingFor(docId, theirHeads)
    } else {
      const l = this.cache.load(docId)
      const known = theirHeads.filter((h) => A.hasHeads(l.doc, [h]))
      if (!theyHave && known.length < theirHeads.length) return []
      rows =
        known.length === 0
          ? this.store.changesAfter(docId, 0)
          : (this.rowsBeyond(docId, known) ??
            this.store.getChanges(
              docId,
              A.getChangesMetaSince(l.doc, known).map((m) => m.hash),
            ))
    }
    return theyHave ? rows.filter((r) => !theyHave.has(r.hash)) : rows
  }

  /**
   * The rows beyond `heads`, found from the log's own hashes and deps instead of asking Automerge for every
   * change since (`A.getChangesMetaSince`: 0.9 s per 100,000 changes, for a teammate back after a day typed
   * alone, which the log keeps as a row per run of up to 1,024 changes). Only when the document has at most
   * `ROW_WALK_MAX` rows, each names its deps (sealed changes do), and every head and every dep is a row here,
   * so that the rows are the whole history as Automerge holds it; undefined otherwise (Automerge answers).
   */
  private rowsBeyond(docId: string, heads: string[]): ChangeRow[] | undefined {
    const links = this.store.changeLinks(docId, ROW_WALK_MAX)
    const beyond = links && linksBeyond(links, heads)
    return beyond && this.store.getChanges(docId, beyond)
  }

  /**
   * This device's changes a teammate lacks, by the heads it is known to hold: how many, and the first one's
   * place in the log (for receipts: "has your edits as of …"). The same judgement as `missingFor` (a head not
   * known here: nothing can be told, so none), from the changes' metadata and counts only: a document's
   * sync status is asked every few seconds while it is open, and reading the lacking changes whole cost
   * 50–110 ms per status on a 10,000-keystroke document with a teammate who never had it.
   */
  ownLackedBy(docId: string, theirHeads: string[]): { changes: number; firstSeq: number | null } {
    const self = this.device.deviceId
    // Nothing known of theirs: every change of this device's is lacked, counted without loading the document.
    if (theirHeads.length === 0) return this.store.countBy(docId, self)
    const l = this.cache.load(docId)
    if (!theirHeads.every((h) => A.hasHeads(l.doc, [h]))) return { changes: 0, firstSeq: null }
    // A teammate who is away keeps the same heads while this device types on: what it lacked at our heads
    // then is still lacked, and only this device's changes since are added (a walk of what is new, not of
    // everything since the teammate's heads). Changes are counted from the document, once each, whether
    // the log holds them one by one or sealed into a run since.
    const key = `${docId} ${theirHeads.join(',')}`
    const known = this.lackedCache.get(key)
    const own = A.getChangesMetaSince(l.doc, known ? known.ourHeads : theirHeads)
      .filter((m) => m.actor.startsWith(this.device.actorPrefix))
      .map((m) => m.hash)
    // In causal order: the first of them with a row is the first lacked (a change inside a run: the run).
    const firstSeq = known?.firstSeq ?? (own.length ? this.store.firstSeqOf(docId, self, own) : null)
    const lacked = { changes: (known?.changes ?? 0) + own.length, firstSeq }
    this.lackedCache.delete(key)
    this.lackedCache.set(key, { ourHeads: A.getHeads(l.doc), ...lacked })
    if (this.lackedCache.size > LACKED_CACHE_SIZE) this.lackedCache.delete(this.lackedCache.keys().next().value!)
    return lacked
  }

  /**
   * Applies teammates' changes and runs (and a client's changes) to a loaded document; returns the
   * Automerge changes to show clients. Keystrokes in the text wait to be applied together (doc-cache.ts
   * `Loaded.defer`): one applied alone costs the length of the text. Runs are bundles: they load with
   * `A.loadIncremental`, and clients are given the changes that became part of the document, which is
   * also right when some wait for deps (they are shown once those arrive, with whatever brings them).
   * If no client holds the document, a run's changes are not gathered for nobody.
   */
  private applyTo(docId: string, l: Loaded, changes: ValidChange[]): Uint8Array[] {
    const plain = changes.map((c) => c.plain!)
    if (changes.every((c) => c.n === 1)) {
      if (this.cache.defer(docId, l, changes as (ValidChange & { plain: Uint8Array })[])) return plain
      if (A.getMissingDeps(l.doc, []).length === 0) {
        ;[l.doc] = A.applyChanges(l.doc, plain)
        return plain
      }
    }
    const before = A.getHeads(l.doc)
    l.doc = A.loadIncremental(l.doc, Buffer.concat(plain))
    return this.cache.watched(docId) ? A.getChangesSince(l.doc, before) : []
  }

  /** Snapshots every loaded document with unsaved history; the peer is shutting down. */
  async close(): Promise<void> {
    await this.settle()
    this.runs.stop()
    await this.covers.stop()
    this.cache.snapshotAll()
    await this.listing.flushRows()
    await this.store.write(() => undefined)
  }
}

/**
 * Characters one peer-side change may insert: 32 Ki UTF-16 units are at most 96 KiB of UTF-8, well under
 * MAX_CHANGE_BYTES with Automerge's and the sealing's overhead.
 */
const TEXT_STEP_CHARS = 32 * 1024

/**
 * The change that made `doc`, once it is known to be within the wire's cap, else a 'too-large'
 * GrapevineError: a change over it would be refused by every teammate (and stall catch-up), so it is never made.
 */
function sendableChange(doc: GDoc): Uint8Array | null {
  const bytes = A.getLastLocalChange(doc) ?? null
  if (bytes && bytes.byteLength > MAX_CHANGE_BYTES)
    throw new GrapevineError(
      'too-large',
      `This edit makes a change of ${Math.ceil(bytes.byteLength / 1024)} KiB; teammates take changes of up to ${MAX_CHANGE_BYTES / 1024} KiB. Make it in smaller parts.`,
    )
  return bytes
}

/** A change as its row stores it. */
function recordOf(c: ValidChange): ChangeRecord {
  return { hash: c.hash, author: c.author, signature: c.signature, bytes: c.bytes, m: c.m, epoch: c.epoch, deps: c.deps, n: c.n }
}
