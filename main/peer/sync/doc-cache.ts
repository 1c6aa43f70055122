/**
 * The documents `Documents` keeps in memory: each loaded on demand from its snapshot plus the
 * changes after it (opened with their epoch's key), snapshotted again as its history grows, and
 * evicted when idle: never while a client holds it open, a batch applied to it is not committed yet,
 * or remote changes for it are buffered.
 */
import * as A from '@automerge/automerge'
import { GrapevineError } from '../../../shared/protocol.ts'
import type { DocContent } from '../../../shared/doc-content.ts'
import type { Device } from '../identity/device.ts'
import { CryptoError } from '../crypto/errors.ts'
import { openContent } from '../crypto/seal.ts'
import { maxOf, type Log } from '../log.ts'
import type { ChangeLog, ChangeRow, DocumentRow, Durable, ListingStore, MetaStore } from '../store/types.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import { headsKey, readContent, readHeader, type GDoc } from './doc-content.ts'
import type { Listing } from './listing.ts'
import { applyRows, applyWhatApplies, Quarantine, splitCovers } from './quarantine.ts'
import { isUnsigned } from './change-validation.ts'

/** A change that may wait to be applied (`Loaded.defer`). */
export interface Deferrable {
  hash: string
  deps: string[]
  plain: Uint8Array
  /** The one Automerge object all its operations edit, when its operations were read and edit one. */
  target?: string
}

/**
 * A document in memory. Teammates' and clients' changes to its content may be taken without being
 * applied at once (`defer`): Automerge 3 applies a change in time that grows with the size of the text
 * it edits (one keystroke into a 20,000-character text costs about 4.5 ms, against 0.05 ms in
 * Automerge 2, and the same for `loadIncremental`), while a batch costs about what one change does.
 * Deferred changes are applied together the next time the document is read (`doc`), by `DocCache`'s
 * timer at the latest. Heads, and whether a change is held, are known without applying them.
 */
export class Loaded {
  #doc: GDoc
  /** Changes taken and not applied yet, in the order taken (each builds only on what came before). */
  #pending: Uint8Array[] = []
  #pendingHashes = new Set<string>()
  /** The heads with the pending changes (only while there are some). */
  #heads: string[] = []
  /** The id of the document's text object ('' if it has none), once asked. */
  #textObject: string | undefined
  ws: string
  lastSeq: number
  /** Rows of the change log stored since the last snapshot (a run is one row). */
  sinceSnapshot: number
  /** Changes since the last snapshot (a run counts each of its changes): what a load would apply after it. */
  changesSinceSnapshot: number
  /** A snapshot of it is stored (or on its way to the store). */
  snapshotted: boolean
  lastSnapshotAt: number
  lastUsed: number
  holds = 0
  /** Batches applied here and not committed yet: such a document is not evicted. */
  unsaved = 0
  /**
   * An apply to it failed (a change that decodes but does not apply: sync/quarantine.ts), so it may be
   * unusable: `DocCache.load` loads it again from the log, and nothing snapshots it.
   */
  broken = false
  /** The document as its log has it now, without what does not apply (set by `DocCache`): what a failed apply of deferred changes falls back to. */
  recover: (() => GDoc) | null = null
  /**
   * What applying a client's changes at once costs per call (CPU ms, averaged), and until when (by that
   * clock) they are not, because that was costly (runs.ts `applyForRuns`).
   */
  liveRuns = { cost: 0, pausedUntil: 0 }

  constructor(
    doc: GDoc,
    ws: string,
    at: { lastSeq?: number; sinceSnapshot?: number; changesSinceSnapshot?: number; snapshotted?: boolean; lastUsed?: number } = {},
  ) {
    this.#doc = doc
    this.ws = ws
    this.lastSeq = at.lastSeq ?? 0
    this.sinceSnapshot = at.sinceSnapshot ?? 0
    this.changesSinceSnapshot = at.changesSinceSnapshot ?? this.sinceSnapshot
    this.snapshotted = at.snapshotted ?? false
    this.lastSnapshotAt = 0
    this.lastUsed = at.lastUsed ?? Date.now()
  }

  /** The document with every change taken: deferred ones are applied first. */
  get doc(): GDoc {
    this.flush()
    return this.#doc
  }

  /** The document as applied so far, without the deferred changes (nothing is applied for it). */
  applied(): GDoc {
    return this.#doc
  }

  set doc(doc: GDoc) {
    if (this.#pending.length) throw new Error('internal: a document was replaced over changes not applied yet')
    this.#doc = doc
    this.#textObject = undefined
  }

  /** How many changes wait to be applied. */
  get deferred(): number {
    return this.#pending.length
  }

  heads(): string[] {
    return this.#pending.length ? [...this.#heads] : A.getHeads(this.#doc)
  }

  /** Whether the document holds the change (applied or deferred). */
  has(hash: string): boolean {
    return this.#pendingHashes.has(hash) || A.hasHeads(this.#doc, [hash])
  }

  /** Title, deleted mark and kind, which no deferred change touches (they edit the text only). */
  header(): { title: string; deleted: boolean; board: boolean } {
    return readHeader(this.#doc)
  }

  /**
   * Takes changes to apply later, if each edits only the document's text and builds only on changes held
   * (or earlier in `changes`), and Automerge has none waiting for deps; false (nothing taken) otherwise,
   * and they must be applied now. The caller vouches that none is held already.
   */
  defer(changes: readonly Deferrable[]): boolean {
    if (changes.length === 0) return true
    this.#textObject ??= A.getObjectId(this.#doc, 'text') ?? ''
    if (!this.#textObject || !changes.every((c) => c.target === this.#textObject)) return false
    const fresh = new Set<string>()
    for (const c of changes) {
      if (!c.deps.every((d) => fresh.has(d) || this.has(d))) return false
      fresh.add(c.hash)
    }
    if (!this.#pending.length && A.getMissingDeps(this.#doc, []).length > 0) return false
    const heads = new Set(this.heads())
    for (const c of changes) {
      for (const d of c.deps) heads.delete(d)
      heads.add(c.hash)
      this.#pending.push(c.plain)
      this.#pendingHashes.add(c.hash)
    }
    this.#heads = [...heads].sort()
    return true
  }

  /**
   * Applies the deferred changes, in one call. If Automerge refuses them (sync/quarantine.ts), the
   * document is taken again from its log, where they are, without what does not apply; with nothing to
   * take it from, it is marked broken and the error thrown.
   */
  flush(): void {
    if (!this.#pending.length) return
    try {
      ;[this.#doc] = A.applyChanges(this.#doc, this.#pending)
    } catch (err) {
      if (!this.recover) {
        this.broken = true
        throw err
      }
      this.#doc = this.recover()
      this.#textObject = undefined
    }
    this.#pending = []
    this.#pendingHashes.clear()
  }
}

export interface DocCacheComponents {
  store: Durable & ListingStore & ChangeLog & MetaStore
  device: Pick<Device, 'deviceId'>
  workspaces: Pick<Workspaces, 'roleOf'>
  keys: Pick<EpochKeys, 'key'>
  /** Where a load repairs a listing row that lags the change log. */
  listing: Pick<Listing, 'current' | 'refreshRow'>
  /** Whether remote changes for the document are buffered: it is not evicted then. */
  buffered: (docId: string) => boolean
  /** The Automerge actor of this run's own changes. */
  actor: string
  /** Snapshot a document after this many new changes. */
  snapshotEvery: number
  /** Changes a document has before its first snapshot. */
  firstSnapshotAfter: number
  /** Documents kept in memory when no client holds them open. */
  maxLoaded: number
  /** The clock (ms) that times a pass applying deferred changes. */
  now: () => number
  log: Log
}

/** Changes a document has before its first snapshot (see `DocCache.maybeSnapshot`). */
export const FIRST_SNAPSHOT_CHANGES = 64
/**
 * Or Automerge operations, whichever comes first: one change can hold a pasted text, and a run (typed
 * offline) thousands of keystrokes. A document of 20,000 keystrokes in 37 changes took 150–225 ms to
 * load at every read, where a snapshot's text answers at once.
 */
export const FIRST_SNAPSHOT_OPS = 4096
/**
 * Deferred changes (`Loaded.defer`) are applied at the latest this long after they were taken, or, when
 * the last pass that applied them took c ms, 20·c (so it takes about 5% of the peer's time, a long text
 * being the costly case), within `MAX_DEFER_MS`. Whatever reads a document applies its changes first, so
 * this only bounds how long they wait when nothing does. The bound is the search index's
 * (search-index.ts `MAX_INDEX_WAIT_MS`), which reads a document typed into at least that often: with
 * 3 s, a long text's passes (150–300 ms each while W4 typed the trace) took 16–29% of a peer's time,
 * since Automerge's cost per call hardly depends on how much it applies (bench/results/latest.md, session 29)...
 */
const DEFER_MS = 500
const DEFER_COST_FACTOR = 20
const MAX_DEFER_MS = 10_000
/** ...or as soon as a document has this many. */
const MAX_DEFERRED = 512
/** What a cover's rows after its first give to a load (`fromLog`): its bundle comes with the first. */
const NOTHING = new Uint8Array(0)

export class DocCache {
  private readonly components: DocCacheComponents
  private readonly loaded = new Map<string, Loaded>()
  /** Documents with deferred changes, applied by `deferTimer` if nothing reads them first. */
  private readonly deferring = new Set<string>()
  private deferTimer: NodeJS.Timeout | null = null
  /** How long the last timed pass of `applyDeferred` took (ms). */
  private lastDeferredCost = 0
  /** Holds taken on documents handed out from their snapshot and not loaded yet (`hold`). */
  private readonly laterHolds = new Map<string, number>()
  /** Changes left out of documents because they do not apply (sync/quarantine.ts). */
  private readonly quarantine: Quarantine

  constructor(components: DocCacheComponents) {
    this.components = components
    this.quarantine = new Quarantine({ store: components.store, log: components.log })
  }

  /** Whether this device keeps `ws` sealed without reading it (a keeper). */
  keeps(ws: string): boolean {
    return this.components.workspaces.roleOf(ws, this.components.device.deviceId) === 'keeper'
  }

  /** The document if it is in memory, without loading it or counting a use. */
  peek(docId: string): Loaded | undefined {
    return this.loaded.get(docId)
  }

  /** Puts a document just made here in memory (no eviction pass). */
  put(docId: string, l: Loaded): void {
    l.recover = () => this.fromLog(docId).doc
    this.loaded.set(docId, l)
  }

  /** Whether the change was left out of the document here because it does not apply (sync/quarantine.ts): it is dropped if it comes again. */
  refuses(docId: string, hash: string): boolean {
    return this.quarantine.refuses(docId, hash)
  }

  /**
   * Takes a batch of changes to the document without applying them yet, if `Loaded.defer` can; they are
   * applied within `DEFER_MS` whatever happens. False: nothing was taken.
   */
  defer(docId: string, l: Loaded, changes: readonly Deferrable[]): boolean {
    if (!l.defer(changes)) return false
    if (l.deferred >= MAX_DEFERRED) l.flush()
    else {
      this.deferring.add(docId)
      if (!this.deferTimer) {
        this.deferTimer = setTimeout(() => this.applyDeferred(), this.deferWait())
        // The changes are in the log already: this pass alone must not keep a stopped peer's process alive.
        this.deferTimer.unref()
      }
    }
    return true
  }

  /** How long deferred changes may wait now: `DEFER_MS`, or longer after a costly pass (see there). */
  private deferWait(): number {
    return Math.min(MAX_DEFER_MS, Math.max(DEFER_MS, DEFER_COST_FACTOR * this.lastDeferredCost))
  }

  /** Applies every document's deferred changes now (the timer's pass: its cost sets the next wait). */
  private applyDeferred(): void {
    if (this.deferTimer) clearTimeout(this.deferTimer)
    this.deferTimer = null
    const started = this.components.now()
    const docs = [...this.deferring]
    this.deferring.clear()
    let applied = 0
    for (const id of docs) {
      try {
        const l = this.loaded.get(id)
        applied += l?.deferred ?? 0
        l?.flush()
      } catch (err) {
        // Every change taken was validated and is in the log (or on its way there): the document loads again from the store.
        this.components.log('warn', `applying changes to ${id}: ${(err as Error).message}; it loads again from the store`)
        const l = this.loaded.get(id)
        if (l) l.broken = true
      }
    }
    // A pass that found everything applied already (a read came first) says nothing of the cost.
    if (applied > 0) this.lastDeferredCost = this.components.now() - started
  }

  /** Drops a document from memory, without a snapshot. */
  drop(docId: string): void {
    this.loaded.delete(docId)
  }

  heads(docId: string): string[] {
    const l = this.loaded.get(docId)
    return l ? l.heads() : (this.components.listing.current(docId)?.heads ?? [])
  }

  /**
   * Title, text and heads. A document not in memory with no change stored after its snapshot is
   * answered from the content stored with the snapshot, without loading it (an Automerge load of a
   * long history is hundreds of milliseconds: W3). Every change up to the snapshot is in it: a
   * snapshot is not taken while changes wait for their deps.
   */
  content(docId: string): { title: string; text: string; deleted: boolean; heads: string[] } {
    const cached = this.wholeSnapshot(docId, (id) => this.components.store.getSnapshotContent(id))
    if (cached) return { title: cached.title, text: cached.text, deleted: cached.deleted, heads: cached.heads }
    const loaded = this.load(docId)
    return { ...readContent(loaded.doc), heads: A.getHeads(loaded.doc) }
  }

  /**
   * The whole document for a client, which then follows `changes` events. Keeps it loaded until
   * `release`. A document not in memory with nothing stored after its snapshot is answered with the
   * snapshot's bytes at once, and loaded here right after (before the client's first edit, in all
   * likelihood): the client's own load is the only one it waits for.
   */
  hold(docId: string): { bytes: Uint8Array; heads: string[] } {
    const snap = this.wholeSnapshot(docId, (id) => this.components.store.getSnapshot(id))
    if (snap) {
      this.laterHolds.set(docId, (this.laterHolds.get(docId) ?? 0) + 1)
      setImmediate(() => this.loadHeld(docId))
      return { bytes: snap.bytes, heads: snap.heads }
    }
    const l = this.load(docId)
    l.holds++
    return { bytes: A.save(l.doc), heads: A.getHeads(l.doc) }
  }

  /**
   * What `read` gives of the snapshot of a readable document that is not in memory, when no change is
   * stored after it (so it is the whole document); undefined otherwise (the document must be loaded).
   */
  private wholeSnapshot<T extends { upToSeq: number }>(docId: string, read: (docId: string) => T | undefined): T | undefined {
    if (this.loaded.has(docId)) return undefined
    const row = this.components.listing.current(docId)
    if (!row || this.keeps(row.workspaceId)) return undefined
    const snap = read(docId)
    return snap && this.components.store.countChangesAfter(docId, snap.upToSeq) === 0 ? snap : undefined
  }

  /** Whether a client holds the document open (or is about to: handed out from its snapshot). */
  watched(docId: string): boolean {
    return (this.loaded.get(docId)?.holds ?? 0) > 0 || this.laterHolds.has(docId)
  }

  release(docId: string): void {
    const later = this.laterHolds.get(docId)
    if (later) {
      if (later > 1) this.laterHolds.set(docId, later - 1)
      else this.laterHolds.delete(docId)
      return
    }
    const l = this.loaded.get(docId)
    if (l && l.holds > 0) l.holds--
  }

  /** Loads a document handed out from its snapshot, with the holds taken on it meanwhile. */
  private loadHeld(docId: string): void {
    const n = this.laterHolds.get(docId)
    if (!n) return // released already
    this.laterHolds.delete(docId)
    try {
      const l = this.load(docId)
      l.holds += n
      // The load's eviction pass runs before the holds are counted: put it back if it went.
      if (!this.loaded.has(docId)) this.loaded.set(docId, l)
    } catch (err) {
      this.components.log('warn', `loading ${docId} for the window that opened it: ${(err as Error).message}`)
    }
  }

  /** The loaded document, or a new empty one for a document not stored here yet (its first changes are arriving). */
  loadOrStart(docId: string, ws: string): Loaded {
    if (this.loaded.has(docId) || this.components.store.getDocument(docId)) return this.load(docId)
    const l = new Loaded(A.init<DocContent>({ actor: this.components.actor }), ws)
    this.put(docId, l)
    this.evict()
    return l
  }

  /**
   * Saves the document (and its content) as a snapshot when enough history came since the last one:
   * `snapshotEvery` rows while it is in memory; when it leaves memory (`force`: evicted, or the peer
   * stops), any. A document that never had one gets its first only once it has `firstSnapshotAfter`
   * changes or FIRST_SNAPSHOT_OPS operations: a short note loads in a few milliseconds from its change
   * log, and a snapshot of it (its Automerge save and its content) would double what it takes on disk.
   */
  maybeSnapshot(docId: string, l: Loaded, force = false): void {
    const { store, snapshotEvery, firstSnapshotAfter, log } = this.components
    if (l.sinceSnapshot === 0 || l.broken) return
    if (!force && (l.sinceSnapshot < snapshotEvery || Date.now() - l.lastSnapshotAt < 2000)) return
    if (!l.snapshotted && l.changesSinceSnapshot < firstSnapshotAfter && A.stats(l.doc).numOps < FIRST_SNAPSHOT_OPS) return
    if (A.getMissingDeps(l.doc, []).length > 0) return // queued changes are not in save(); wait for them
    const upToSeq = l.lastSeq
    const bytes = A.save(l.doc)
    const heads = A.getHeads(l.doc)
    const content = readContent(l.doc)
    l.sinceSnapshot = 0
    l.changesSinceSnapshot = 0
    l.snapshotted = true
    l.lastSnapshotAt = Date.now()
    void store
      .write(() => store.putSnapshot({ docId, bytes, heads, upToSeq, createdAt: Date.now(), content }))
      .catch((err: Error) => log('warn', `snapshot of ${docId}: ${err.message}`))
  }

  /** Snapshots every loaded document with unsaved history (the peer is shutting down). */
  snapshotAll(): void {
    this.applyDeferred()
    for (const [id, l] of this.loaded) this.maybeSnapshot(id, l, true)
  }

  /**
   * Loads a document: its snapshot, then every change after it, applied in one call. A document whose
   * last apply failed (`Loaded.broken`) is loaded again, keeping the holds on it.
   */
  load(docId: string): Loaded {
    let l = this.loaded.get(docId)
    if (l && !l.broken) {
      l.lastUsed = Date.now()
      return l
    }
    const holds = l?.holds ?? 0
    const { doc, rest, snap, row } = this.fromLog(docId)
    l = new Loaded(doc, row.workspaceId, {
      lastSeq: maxOf(
        rest.map((r) => r.seq),
        snap?.upToSeq ?? 0,
      ),
      sinceSnapshot: rest.length,
      changesSinceSnapshot: rest.reduce((a, r) => a + r.n, 0),
      snapshotted: snap !== undefined,
    })
    l.holds = holds
    this.put(docId, l)
    // The listing cache lags the change log after a crash; repair it from the document.
    if (headsKey(row.heads) !== headsKey(A.getHeads(doc))) this.components.listing.refreshRow(docId, l, null, 0)
    this.evict()
    return l
  }

  /**
   * The document as its log has it: the snapshot, then every change after it (`rest`). If those do not
   * apply, the ones that do are applied, and the others are removed from the log (sync/quarantine.ts).
   */
  private fromLog(docId: string): { doc: GDoc; rest: ChangeRow[]; snap: ReturnType<ChangeLog['getSnapshot']>; row: DocumentRow } {
    const { store, actor } = this.components
    const row = store.getDocument(docId)
    if (!row) throw new GrapevineError('not-found', `No document ${docId} here.`)
    if (this.keeps(row.workspaceId))
      throw new GrapevineError('forbidden', 'This device is a keeper of the workspace: it stores it sealed and cannot open its documents.')
    const snap = store.getSnapshot(docId)
    // `unchecked`: a snapshot is this peer's own save of a document whose every change it had
    // verified; checking recomputes each change's hash, two thirds of a large load. The changes
    // after it are applied as usual.
    const start = (): GDoc => (snap ? A.load<DocContent>(snap.bytes, { actor, unchecked: true }) : A.init<DocContent>({ actor }))
    let doc = start()
    let rest = store.changesAfter(docId, snap?.upToSeq ?? 0)
    if (rest.length === 0) return { doc, rest, snap, row }
    // A cover's bundle is opened once, for the first of its rows; the others then add nothing to the load.
    const opened = new Set<number>()
    let plain = rest.map((r) => {
      if (r.cover === null) return this.plainOf(row.workspaceId, r)
      if (opened.has(r.cover)) return NOTHING
      opened.add(r.cover)
      return this.coverOf(row.workspaceId, docId, r.cover)
    })
    // A cover one of whose changes was left out (quarantine.ts) holds it still: its changes are taken one by one.
    const split = opened.size > 0 && this.quarantine.refusesAny(docId)
    if (split) plain = splitCovers(rest, plain)
    try {
      doc = applyRows(doc, rest, plain)
    } catch (err) {
      this.components.log('warn', `${docId}: its log does not apply at once (${(err as Error).message}); taking what applies`)
      const found = applyWhatApplies(start(), rest, split || opened.size === 0 ? plain : splitCovers(rest, plain))
      if (found.refused.length) this.quarantine.refuse(docId, found.refused, (err as Error).message)
      doc = found.doc
      rest = rest.filter((r) => !found.refused.includes(r))
    }
    return { doc, rest, snap, row }
  }

  /**
   * The Automerge change of a stored row: opened with its epoch's key if sealed (the store keeps what was
   * signed); in clear if an older version's, or unsigned (this device's, not sealed yet: runs.ts).
   */
  private plainOf(ws: string, r: ChangeRow): Uint8Array {
    if (r.epoch === null || isUnsigned(r)) return r.bytes
    const key = this.components.keys.key(ws, r.epoch)
    if (!key)
      throw new GrapevineError('internal', `No key here for epoch ${r.epoch} of workspace ${ws}, which change ${r.hash} is sealed under.`)
    try {
      return openContent(key, r.bytes, { kind: r.n > 1 ? 'run' : 'change', subject: r.docId, author: r.author })
    } catch (err) {
      if (err instanceof CryptoError)
        throw new GrapevineError('internal', `Stored change ${r.hash} of ${r.docId} does not open: ${err.message}`)
      throw err
    }
  }

  /** A stored cover's bundle (covers.ts), opened with its epoch's key. */
  private coverOf(ws: string, docId: string, id: number): Uint8Array {
    const cover = this.components.store.getCover(id)
    if (!cover) throw new GrapevineError('internal', `Cover ${id} of ${docId}, which its rows name, is not stored.`)
    const key = this.components.keys.key(ws, cover.epoch)
    if (!key)
      throw new GrapevineError('internal', `No key here for epoch ${cover.epoch} of workspace ${ws}, which cover ${id} is sealed under.`)
    try {
      return openContent(key, cover.bytes, { kind: 'cover', subject: docId, author: cover.author })
    } catch (err) {
      if (err instanceof CryptoError) throw new GrapevineError('internal', `Stored cover ${id} of ${docId} does not open: ${err.message}`)
      throw err
    }
  }

  private evict(): void {
    const { maxLoaded, buffered } = this.components
    if (this.loaded.size <= maxLoaded) return
    const idle = [...this.loaded.entries()]
      .filter(([id, l]) => l.holds === 0 && l.unsaved === 0 && !buffered(id))
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed)
    for (const [id, l] of idle.slice(0, this.loaded.size - maxLoaded)) {
      this.maybeSnapshot(id, l, true)
      this.loaded.delete(id)
    }
  }
}
