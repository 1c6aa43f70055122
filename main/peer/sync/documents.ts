/**
 * Documents: the peer's own Automerge copies, loaded on demand from a snapshot plus the changes
 * after it, and the one write path every change takes. Own changes are made in memory, published,
 * then committed (the client is answered after the commit). Teammates' changes are applied and
 * shown to clients first, then committed in the same group commit: a teammate holds them, so if
 * this peer stops before the commit, catch-up brings them back. Remote changes that arrive in a
 * burst are applied in batches, because applying one change per call gets slow as history grows.
 */
import * as A from '@automerge/automerge'
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { GrapevineError } from '../../../shared/protocol.ts'
import { WRITER_ROLES } from '../../../shared/types.ts'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { newActorId, type Device } from '../identity/device.ts'
import { sha256 } from '../identity/keys.ts'
import type { ChangeLog, ChangeRow, DocumentRow, Durable, ListingStore, MetaStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { EpochKey } from '../crypto/epoch.ts'
import { CryptoError } from '../crypto/errors.ts'
import { openContent } from '../crypto/seal.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { maxOf, type Log } from '../log.ts'
import { sealChange, type ValidChange } from './change-validation.ts'
import { SealedLog } from './sealed-log.ts'
import type { DocContent } from '../../../shared/doc-content.ts'
import { headsKey, initContent, readContent, type GDoc } from './doc-content.ts'

export interface DocumentEvents {
  /** Changes newly applied to a document; `origin` is the client that sent them, if any. */
  changes: [docId: string, changes: Uint8Array[], origin: unknown]
  /** This device's own new changes, durable, to be published. */
  local: [workspaceId: string, docId: string, items: SignedChange[]]
  /** A document was created, renamed, deleted or changed: listings are stale. */
  list: [workspaceId: string]
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
  /** Documents kept in memory when no client holds them open. */
  maxLoaded: number
  log: Log
}

interface Loaded {
  doc: GDoc
  ws: string
  lastSeq: number
  sinceSnapshot: number
  lastSnapshotAt: number
  lastUsed: number
  holds: number
  /** Batches applied here and not committed yet: such a document is not evicted. */
  unsaved: number
}
interface Pending {
  ws: string
  items: ValidChange[]
  /** Cancels the scheduled fire. */
  cancel: (() => void) | null
  done: Promise<void>
  fire: () => void
}

const BATCH_MAX = 1000
const ROW_FLUSH_MS = 1000

export class Documents extends EventEmitter<DocumentEvents> {
  private readonly loaded = new Map<string, Loaded>()
  private readonly pending = new Map<string, Pending>()
  private readonly lastFlush = new Map<string, number>()
  /** Listing rows newer than the database's, until their write lands. */
  private readonly fresh = new Map<string, DocumentRow>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly actor: string
  private readonly store: Durable & MetaStore & ListingStore & ChangeLog
  private readonly device: Device
  private readonly workspaces: Workspaces
  private readonly keys: EpochKeys
  private readonly opts: DocumentsOptions
  /** Documents a client wrote in during this run (their follow mark is written once). */
  private readonly followed = new Set<string>()
  /**
   * Listing rows not in the database yet: written inside the next commit, or after ROW_FLUSH_MS
   * when none comes, so an edit costs one commit, not two. A crash loses at most these, and the
   * listing is repaired from the change log at start (`repairListings`).
   */
  private readonly dirtyRows = new Map<string, DocumentRow>()
  private rowTimer: NodeJS.Timeout | null = null
  /** A keeper's view of the documents it stores sealed: hashes and deps only. */
  private readonly sealed: SealedLog

  constructor(
    store: Durable & MetaStore & ListingStore & ChangeLog,
    device: Device,
    workspaces: Workspaces,
    keys: EpochKeys,
    opts: DocumentsOptions,
  ) {
    super()
    this.store = store
    this.device = device
    this.workspaces = workspaces
    this.keys = keys
    this.opts = opts
    this.sealed = new SealedLog(store)
    this.actor = newActorId(device)
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
    return this.track(next)
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
      const buffered = [...this.pending.values()].filter((p) => p.ws === workspaceId)
      for (const p of buffered) p.fire()
      await Promise.all(buffered.map((p) => p.done))
      const docs = this.store.docsWrittenBy(workspaceId, revoked)
      const key = docs.length ? await this.keys.sealing(workspaceId) : null
      for (const docId of docs) {
        const l = this.load(docId)
        await this.commitOwn(docId, l, A.emptyChange(l.doc), key!)
      }
      if (docs.length)
        this.opts.log('info', `endorsed ${docs.length} documents written by ${revoked.length} revoked writers of ${workspaceId}`)
    }
    await this.store.write(() => this.store.setMeta(key, now))
  }

  /** The document's row, if this device may see it. */
  row(docId: string): DocumentRow {
    const row = this.fresh.get(docId) ?? this.store.getDocument(docId)
    if (!row || this.workspaces.roleOf(row.workspaceId, this.device.deviceId) === undefined) {
      throw new GrapevineError('not-found', `No document ${docId} here.`)
    }
    return row
  }

  list(workspaceId: string, includeDeleted = false): DocumentRow[] {
    return this.store
      .listDocuments(workspaceId)
      .map((r) => this.fresh.get(r.id) ?? r)
      .filter((r) => includeDeleted || !r.deleted)
      .sort((a, b) => b.lastChangeAt - a.lastChangeAt || (a.id < b.id ? -1 : 1))
  }

  heads(docId: string): string[] {
    const l = this.loaded.get(docId)
    return l ? A.getHeads(l.doc) : ((this.fresh.get(docId) ?? this.store.getDocument(docId))?.heads ?? [])
  }

  /** Whether this device keeps `ws` sealed without reading it (a keeper). */
  private keeps(ws: string): boolean {
    return this.workspaces.roleOf(ws, this.device.deviceId) === 'keeper'
  }

  /** One digest per document of the workspace: equal digests mean equal heads. */
  digests(workspaceId: string): [string, Uint8Array][] {
    return this.store.listDocuments(workspaceId).map((r) => [r.id, sha256(headsKey(this.heads(r.id))).subarray(0, 16)])
  }

  content(docId: string): { title: string; text: string; deleted: boolean; heads: string[] } {
    const l = this.load(docId)
    return { ...readContent(l.doc), heads: A.getHeads(l.doc) }
  }

  /** The whole document for a client, which then follows `changes` events. Keeps it loaded until `release`. */
  hold(docId: string): { bytes: Uint8Array; heads: string[] } {
    const l = this.load(docId)
    l.holds++
    return { bytes: A.save(l.doc), heads: A.getHeads(l.doc) }
  }

  /** This device has seen the document as it is now; it also follows it from now on. */
  async markRead(docId: string): Promise<void> {
    const row = this.row(docId)
    await this.store.write(() => this.store.markRead(docId, Date.now()))
    this.emit('list', row.workspaceId)
  }

  follows(docId: string): boolean {
    return this.store.listReads().get(docId)?.followed ?? false
  }

  /** Documents changed by someone else since this device last saw them. */
  unread(rows: DocumentRow[]): Set<string> {
    const reads = this.store.listReads()
    return new Set(rows.filter((r) => r.lastRemoteAt > (reads.get(r.id)?.readAt ?? 0)).map((r) => r.id))
  }

  release(docId: string): void {
    const l = this.loaded.get(docId)
    if (l && l.holds > 0) l.holds--
  }

  private assertWriter(workspaceId: string): void {
    const role = this.workspaces.roleOf(workspaceId, this.device.deviceId)
    if (role === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${workspaceId}.`)
    if (!WRITER_ROLES.includes(role)) throw new GrapevineError('forbidden', `A ${role} cannot change documents.`)
  }

  async create(workspaceId: string, title: string, text: string): Promise<DocumentRow> {
    this.assertWriter(workspaceId)
    const key = await this.keys.sealing(workspaceId)
    const docId = randomBytes(16).toString('hex')
    const now = Date.now()
    const doc = A.change(A.init<DocContent>({ actor: this.actor }), (d) => initContent(d, title, text))
    this.loaded.set(docId, { doc, ws: workspaceId, lastSeq: 0, sinceSnapshot: 0, lastSnapshotAt: 0, lastUsed: now, holds: 0, unsaved: 0 })
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
    await Promise.all([rowWritten, this.commitOwn(docId, this.loaded.get(docId)!, doc, key)])
    return this.row(docId)
  }

  /** An edit made by the peer itself (CLI, rename, delete, set text). Resolves with the heads once durable. */
  async edit(docId: string, fn: (d: DocContent) => void): Promise<string[]> {
    const row = this.row(docId)
    this.assertWriter(row.workspaceId)
    const key = await this.keys.sealing(row.workspaceId)
    const l = this.load(docId)
    const before = A.getHeads(l.doc)
    const doc = A.change(l.doc, fn)
    if (headsKey(A.getHeads(doc)) === headsKey(before)) return before
    await this.commitOwn(docId, l, doc, key)
    return A.getHeads(this.loaded.get(docId)?.doc ?? doc)
  }

  /** Seals, signs, commits and announces the change that made `doc`. `key`: the epoch key to seal with. */
  private async commitOwn(docId: string, l: Loaded, doc: GDoc, key: EpochKey): Promise<void> {
    l.doc = doc
    const bytes = A.getLastLocalChange(doc)
    if (!bytes) return
    const { item, change } = sealChange(this.device, key, l.ws, docId, bytes, this.workspaces.heads(l.ws))
    // Published before the commit: a teammate that has it keeps it if this peer crashes first, and
    // catch-up brings it back here. The caller is answered after the commit.
    this.emit('local', l.ws, docId, [item])
    await this.persist(l.ws, docId, [change], true)
  }

  /** Changes made by a client's replica of the document. Resolves with the heads once durable. */
  async applyClientChanges(docId: string, changes: Uint8Array[], origin: unknown): Promise<string[]> {
    const row = this.row(docId)
    this.assertWriter(row.workspaceId)
    const key = await this.keys.sealing(row.workspaceId)
    const valid: ValidChange[] = []
    const items: SignedChange[] = []
    // Signed under the membership this device holds now: what its role is judged by, here and everywhere.
    const m = this.workspaces.heads(row.workspaceId)
    const doc = this.load(docId).doc
    const batch = new Set<string>()
    for (const bytes of changes) {
      if (bytes.byteLength > MAX_CHANGE_BYTES)
        throw new GrapevineError('too-large', `A change of ${bytes.byteLength} bytes is over the limit.`)
      let decoded: A.DecodedChange
      try {
        decoded = A.decodeChange(bytes)
      } catch (err) {
        throw new GrapevineError('bad-request', `Not an Automerge change: ${(err as Error).message}`)
      }
      if (decoded.actor.length !== 48 || !decoded.actor.startsWith(this.device.actorPrefix)) {
        throw new GrapevineError(
          'bad-request',
          `Change actor ${decoded.actor} is not one of this device's; make the replica's actor with this device's prefix.`,
        )
      }
      // Builds only on what this peer holds, or on a change earlier in the request: a client's
      // changes leave in causal order, so one that does not is refused, never stored as an orphan
      // (after a refused request, those the page sent behind it are refused the same way).
      const missing = decoded.deps.filter((d) => !batch.has(d) && !A.hasHeads(doc, [d]))
      if (missing.length)
        throw new GrapevineError(
          'bad-request',
          `Change ${decoded.hash.slice(0, 12)} depends on changes this peer does not have (${missing.map((h) => h.slice(0, 12)).join(', ')}).`,
        )
      batch.add(decoded.hash)
      const { item, change } = sealChange(this.device, key, row.workspaceId, docId, bytes, m, decoded)
      items.push(item)
      valid.push(change)
    }
    if (!this.followed.has(docId)) {
      this.followed.add(docId)
      void this.store.write(() => this.store.follow(docId)).catch(() => this.followed.delete(docId))
    }
    // Published before the commit (see commitOwn); a replica that sends a change twice publishes it once.
    const toPublish = items.filter((_, i) => !this.store.hasChange(docId, valid[i]!.hash))
    if (toPublish.length) this.emit('local', row.workspaceId, docId, toPublish)
    await this.persist(row.workspaceId, docId, valid, false, origin)
    return this.heads(docId)
  }

  /** Validated changes from a peer: buffered per document, then committed and applied together. */
  ingest(workspaceId: string, docId: string, changes: ValidChange[]): Promise<void> {
    const existing = this.store.getDocument(docId)
    // A document id belongs to one workspace: changes signed for another are never mixed in.
    if (existing && existing.workspaceId !== workspaceId) return Promise.resolve()
    let p = this.pending.get(docId)
    if (p && p.ws !== workspaceId) return Promise.resolve()
    if (!p) {
      let resolve!: () => void
      const pend: Pending = { ws: workspaceId, items: [], cancel: null, done: new Promise<void>((r) => (resolve = r)), fire: () => {} }
      pend.fire = () => {
        pend.cancel?.()
        pend.cancel = null
        if (this.pending.get(docId) !== pend) return
        this.pending.delete(docId)
        this.lastFlush.set(docId, Date.now())
        this.track(this.persist(workspaceId, docId, pend.items, false))
          .catch((err: Error) => this.opts.log('error', `applying ${pend.items.length} changes to ${docId} failed: ${err.message}`))
          .finally(resolve)
      }
      // Leading edge: a change after a quiet spell is applied as soon as the message that brought it
      // has been checked (before gossip forwards it: showing it here comes first); a burst is
      // gathered into one batch.
      const quiet = Date.now() - (this.lastFlush.get(docId) ?? 0) > this.opts.batchMs
      if (quiet) queueMicrotask(pend.fire)
      else {
        const t = setTimeout(pend.fire, this.opts.batchMs)
        pend.cancel = () => clearTimeout(t)
      }
      this.pending.set(docId, pend)
      p = pend
    }
    p.items.push(...changes)
    if (p.items.length >= BATCH_MAX) p.fire()
    return p.done
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise)
    promise.then(
      () => this.inflight.delete(promise),
      () => this.inflight.delete(promise),
    )
    return promise
  }

  /** Waits until every buffered remote change has been committed and applied. */
  async settle(): Promise<void> {
    while (this.pending.size > 0 || this.inflight.size > 0) {
      for (const p of [...this.pending.values()]) p.fire()
      await Promise.allSettled([...this.inflight])
    }
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
  ): Promise<ChangeRow[]> {
    const now = Date.now()
    // An empty change (an endorsement of history, see endorse) is no edit: it moves no "last change".
    const edits = changes.filter((c) => !c.empty)
    const newest = edits.length ? edits.reduce((a, b) => (b.time > a.time ? b : a)) : null
    const last = newest && { at: Math.min(now, Math.round(newest.time * 1000)) || now, by: newest.author }
    const early = !alreadyApplied && !this.keeps(workspaceId) && changes.every((c) => c.plain !== null)
    const l = early ? this.loadOrStart(docId, workspaceId) : undefined
    /** Whether the listing row already shows these changes (it does once they are applied, if the document has a row). */
    let listed = false
    if (l) {
      l.unsaved++
      const seen = new Set<string>()
      const fresh = changes.filter((c) => !seen.has(c.hash) && seen.add(c.hash) && !A.hasHeads(l.doc, [c.hash]))
      if (fresh.length) {
        const plain = fresh.map((c) => c.plain!)
        ;[l.doc] = A.applyChanges(l.doc, plain)
        this.emit('changes', docId, plain, origin)
        listed = this.refreshRow(docId, l, last, fresh.length)
      }
    }
    let rowsWritten: DocumentRow[] = []
    const write = this.store.write(() => {
      rowsWritten = this.writeDirtyRows()
      if (!this.store.getDocument(docId)) {
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
      return this.store.appendChanges(
        docId,
        changes.map((c) => ({
          hash: c.hash,
          author: c.author,
          signature: c.signature,
          bytes: c.bytes,
          m: c.m,
          epoch: c.epoch,
          deps: c.deps,
        })),
        now,
      )
    })
    const rows = await write
      .catch((err: unknown) => {
        // Rolled back with the changes: the listing rows it carried wait for the next commit again.
        for (const r of rowsWritten) if (!this.dirtyRows.has(r.id)) this.dirtyRows.set(r.id, r)
        throw err
      })
      .finally(() => {
        if (l) l.unsaved--
      })
    this.rowsDurable(rowsWritten)
    if (rows.length === 0) return rows
    if (changes.some((c) => c.plain === null) || this.keeps(workspaceId)) return this.keepSealed(workspaceId, docId, rows, changes)
    // A teammate that sealed with a key has it: what "2 of 4 teammates have the new key" counts.
    for (const c of changes) if (c.epoch !== null && c.author !== this.device.deviceId) this.keys.confirm(workspaceId, c.author, c.epoch)
    // Own edits are in memory already, and teammates' were applied above. An own document evicted
    // meanwhile loads again from the store, which now has them.
    const doc = l ?? this.load(docId)
    doc.lastSeq = maxOf(
      rows.map((r) => r.seq),
      doc.lastSeq,
    )
    doc.sinceSnapshot += rows.length
    if (!listed) this.refreshRow(docId, doc, last, rows.length)
    this.maybeSnapshot(docId, doc)
    if (alreadyApplied) {
      const plainByHash = new Map(changes.map((c) => [c.hash, c.plain]))
      this.emit(
        'changes',
        docId,
        rows.map((r) => plainByHash.get(r.hash)!),
        origin,
      )
    }
    this.emit('heads', workspaceId, docId)
    if (newest && newest.author !== this.device.deviceId) this.emit('activity', workspaceId, docId, newest.author)
    return rows
  }

  /** The loaded document, or a new empty one for a document not stored here yet (its first changes are arriving). */
  private loadOrStart(docId: string, ws: string): Loaded {
    if (this.loaded.has(docId) || this.store.getDocument(docId)) return this.load(docId)
    const l: Loaded = {
      doc: A.init<DocContent>({ actor: this.actor }),
      ws,
      lastSeq: 0,
      sinceSnapshot: 0,
      lastSnapshotAt: 0,
      lastUsed: Date.now(),
      holds: 0,
      unsaved: 0,
    }
    this.loaded.set(docId, l)
    this.evict()
    return l
  }

  /**
   * A keeper's store-and-forward: the rows are stored as signed; the listing gets their heads from
   * the hashes and deps signed in clear, and no title (it cannot read one). Announced like any change.
   */
  private keepSealed(workspaceId: string, docId: string, rows: ChangeRow[], changes: ValidChange[]): ChangeRow[] {
    this.loaded.delete(docId)
    this.sealed.add(docId, rows)
    const base = this.fresh.get(docId) ?? this.store.getDocument(docId)
    if (base) {
      const now = Date.now()
      this.putRow(workspaceId, {
        ...base,
        heads: this.sealed.heads(docId),
        changeCount: base.changeCount + rows.length,
        lastChangeAt: now,
        lastChangeBy: changes.at(-1)!.author,
        lastRemoteAt: now,
      })
    }
    this.emit('heads', workspaceId, docId)
    return rows
  }

  /**
   * Updates the listing row of a document (title, heads, last change). The new row is visible at
   * once through `fresh`, and reaches the database in the next group commit. False when the
   * document has no row yet (its first changes are being committed).
   */
  private refreshRow(docId: string, l: Loaded, last: { at: number; by: string } | null, added: number): boolean {
    const base = this.fresh.get(docId) ?? this.store.getDocument(docId)
    if (!base) return false
    const c = readContent(l.doc)
    const next: DocumentRow = {
      ...base,
      title: c.title,
      deleted: c.deleted,
      heads: A.getHeads(l.doc),
      changeCount: added > 0 ? base.changeCount + added : this.store.countChangesAfter(docId, 0),
      lastChangeAt: last ? Math.max(base.lastChangeAt, last.at) : base.lastChangeAt,
      lastChangeBy: last ? last.by : base.lastChangeBy,
      lastRemoteAt: last && last.by !== this.device.deviceId ? Date.now() : base.lastRemoteAt,
    }
    this.putRow(l.ws, next)
    return true
  }

  /** A new listing row: visible at once through `fresh`, in the database with the next commit (see `dirtyRows`). */
  private putRow(workspaceId: string, next: DocumentRow): void {
    this.fresh.set(next.id, next)
    this.dirtyRows.set(next.id, next)
    this.rowTimer ??= setTimeout(() => void this.flushRows(), ROW_FLUSH_MS)
    this.emit('list', workspaceId)
  }

  /** Inside a store write: upserts the listing rows waiting; returns them. */
  private writeDirtyRows(): DocumentRow[] {
    const rows = [...this.dirtyRows.values()]
    this.dirtyRows.clear()
    for (const r of rows) this.store.upsertDocument(r)
    return rows
  }

  /** Rows now in the database: the store answers for them again, unless a newer row came meanwhile. */
  private rowsDurable(rows: DocumentRow[]): void {
    for (const r of rows) if (this.fresh.get(r.id) === r) this.fresh.delete(r.id)
  }

  /** Writes the listing rows waiting, when no change commit came to carry them. */
  private async flushRows(): Promise<void> {
    if (this.rowTimer) clearTimeout(this.rowTimer)
    this.rowTimer = null
    if (this.dirtyRows.size === 0) return
    try {
      this.rowsDurable(await this.store.write(() => this.writeDirtyRows()))
    } catch (err) {
      this.opts.log('warn', `listing rows: ${(err as Error).message}`)
    }
  }

  private maybeSnapshot(docId: string, l: Loaded, force = false): void {
    if (l.sinceSnapshot === 0) return
    if (!force && (l.sinceSnapshot < this.opts.snapshotEvery || Date.now() - l.lastSnapshotAt < 2000)) return
    if (A.getMissingDeps(l.doc, []).length > 0) return // queued changes are not in save(); wait for them
    const upToSeq = l.lastSeq
    const bytes = A.save(l.doc)
    const heads = A.getHeads(l.doc)
    l.sinceSnapshot = 0
    l.lastSnapshotAt = Date.now()
    void this.store
      .write(() => this.store.putSnapshot({ docId, bytes, heads, upToSeq, createdAt: Date.now() }))
      .catch((err: Error) => this.opts.log('warn', `snapshot of ${docId}: ${err.message}`))
  }

  /** Loads a document: its snapshot, then every change after it, applied in one call. */
  private load(docId: string): Loaded {
    let l = this.loaded.get(docId)
    if (l) {
      l.lastUsed = Date.now()
      return l
    }
    const row = this.store.getDocument(docId)
    if (!row) throw new GrapevineError('not-found', `No document ${docId} here.`)
    if (this.keeps(row.workspaceId))
      throw new GrapevineError('forbidden', 'This device is a keeper of the workspace: it stores it sealed and cannot open its documents.')
    const snap = this.store.getSnapshot(docId)
    // `unchecked`: a snapshot is this peer's own save of a document whose every change it had
    // verified; checking recomputes each change's hash, two thirds of a large load. The changes
    // after it are applied as usual.
    let doc = snap ? A.load<DocContent>(snap.bytes, { actor: this.actor, unchecked: true }) : A.init<DocContent>({ actor: this.actor })
    const rest = this.store.changesAfter(docId, snap?.upToSeq ?? 0)
    if (rest.length)
      [doc] = A.applyChanges(
        doc,
        rest.map((r) => this.plainOf(row.workspaceId, r)),
      )
    l = {
      doc,
      ws: row.workspaceId,
      lastSeq: maxOf(
        rest.map((r) => r.seq),
        snap?.upToSeq ?? 0,
      ),
      sinceSnapshot: rest.length,
      lastSnapshotAt: 0,
      lastUsed: Date.now(),
      holds: 0,
      unsaved: 0,
    }
    this.loaded.set(docId, l)
    // The listing cache lags the change log after a crash; repair it from the document.
    if (headsKey(row.heads) !== headsKey(A.getHeads(doc))) this.refreshRow(docId, l, null, 0)
    this.evict()
    return l
  }

  /** The Automerge change of a stored row: opened with its epoch's key if sealed (the store keeps what was signed). */
  private plainOf(ws: string, r: ChangeRow): Uint8Array {
    if (r.epoch === null) return r.bytes
    const key = this.keys.key(ws, r.epoch)
    if (!key)
      throw new GrapevineError('internal', `No key here for epoch ${r.epoch} of workspace ${ws}, which change ${r.hash} is sealed under.`)
    try {
      return openContent(key, r.bytes, { kind: 'change', subject: r.docId, author: r.author })
    } catch (err) {
      if (err instanceof CryptoError)
        throw new GrapevineError('internal', `Stored change ${r.hash} of ${r.docId} does not open: ${err.message}`)
      throw err
    }
  }

  private evict(): void {
    if (this.loaded.size <= this.opts.maxLoaded) return
    const idle = [...this.loaded.entries()]
      .filter(([id, l]) => l.holds === 0 && l.unsaved === 0 && !this.pending.has(id))
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed)
    for (const [id, l] of idle.slice(0, this.loaded.size - this.opts.maxLoaded)) {
      this.maybeSnapshot(id, l, true)
      this.loaded.delete(id)
    }
  }

  /** After a crash the listing cache may lag the change log: reload the documents where it does. */
  repairListings(): number {
    const counts = this.store.changeCounts()
    let repaired = 0
    for (const ws of this.workspaces.ids()) {
      if (this.keeps(ws)) continue
      for (const row of this.store.listDocuments(ws)) {
        if ((counts.get(row.id) ?? 0) !== row.changeCount) {
          this.load(row.id)
          this.refreshRow(row.id, this.loaded.get(row.id)!, null, 0)
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
    if (this.keeps(row.workspaceId)) return this.sealed.missingDeps(docId)
    return A.getMissingDeps(this.load(docId).doc, [])
  }

  /**
   * Whether this device holds every change of `heads` with its whole history. A change stored before
   * its deps arrived is not enough: catch-up must ask for what lies under it.
   */
  knows(docId: string, heads: string[]): boolean {
    const row = this.store.getDocument(docId)
    if (!row) return heads.length === 0
    if (this.keeps(row.workspaceId))
      return heads.every((h) => this.store.hasChange(docId, h)) && this.sealed.missingDeps(docId).length === 0
    return A.hasHeads(this.load(docId).doc, heads)
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
    if (this.keeps(row.workspaceId)) {
      if (!theyHave && !this.knows(docId, theirHeads)) return []
      rows = theirHeads.length === 0 ? this.store.changesAfter(docId, 0) : this.sealed.missingFor(docId, theirHeads)
    } else {
      const l = this.load(docId)
      const known = theirHeads.filter((h) => A.hasHeads(l.doc, [h]))
      if (!theyHave && known.length < theirHeads.length) return []
      rows =
        known.length === 0
          ? this.store.changesAfter(docId, 0)
          : this.store.getChanges(
              docId,
              A.getChangesMetaSince(l.doc, known).map((m) => m.hash),
            )
    }
    return theyHave ? rows.filter((r) => !theyHave.has(r.hash)) : rows
  }

  /** Snapshots every loaded document with unsaved history; the peer is shutting down. */
  async close(): Promise<void> {
    await this.settle()
    for (const [id, l] of this.loaded) this.maybeSnapshot(id, l, true)
    await this.flushRows()
    await this.store.write(() => undefined)
  }
}
