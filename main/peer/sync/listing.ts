/**
 * The listing of documents (title, heads, last change) as `Documents` shows it, and what this device
 * has read and follows. A row changed by an edit is visible at once, and reaches the database with the
 * next commit of teammates' changes, or else lazily: in the first commit of this device's own edits at
 * least ROW_FLUSH_MS after it changed, or by a timer then. So an edit costs one commit, not two, and while
 * someone types the row is written about once a second, not with every keystroke (two of the seven
 * pages a keystroke's commit wrote: the row and its index).
 */
import { GrapevineError } from '../../../shared/protocol.ts'
import type { Device } from '../identity/device.ts'
import type { Log } from '../log.ts'
import type { ChangeLog, DocumentRow, Durable, ListingStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'

const ROW_FLUSH_MS = 1000

export interface ListingComponents {
  store: Durable & ListingStore & Pick<ChangeLog, 'countChangesAfter'>
  device: Pick<Device, 'deviceId'>
  workspaces: Pick<Workspaces, 'roleOf'>
  /** Told when a workspace's listing is stale (`Documents`' `list` event). */
  events: { emit(event: 'list', workspaceId: string, docId?: string): unknown }
  log: Log
}

export class Listing {
  private readonly components: ListingComponents
  /** Listing rows newer than the database's, until their write lands. */
  private readonly fresh = new Map<string, DocumentRow>()
  /** Documents a client wrote in during this run (their follow mark is written once). */
  private readonly followed = new Set<string>()
  /**
   * Listing rows not in the database yet (see the top of this file for when they are written). A
   * crash loses at most these, and the listing is repaired from the change log at start
   * (`Documents.repairListings`).
   */
  private readonly dirtyRows = new Map<string, DocumentRow>()
  /** When the oldest row of `dirtyRows` changed (performance.now()). */
  private dirtySince = 0
  private rowTimer: NodeJS.Timeout | null = null

  constructor(components: ListingComponents) {
    this.components = components
  }

  /** The newest row of a document: the one not written yet, else the database's. */
  current(docId: string): DocumentRow | undefined {
    return this.fresh.get(docId) ?? this.components.store.getDocument(docId)
  }

  /** The document's row, if this device may see it. */
  row(docId: string): DocumentRow {
    const row = this.current(docId)
    if (!row || this.components.workspaces.roleOf(row.workspaceId, this.components.device.deviceId) === undefined) {
      throw new GrapevineError('not-found', `No document ${docId} here.`)
    }
    return row
  }

  list(workspaceId: string, includeDeleted = false): DocumentRow[] {
    return this.components.store
      .listDocuments(workspaceId)
      .map((r) => this.fresh.get(r.id) ?? r)
      .filter((r) => includeDeleted || !r.deleted)
      .sort(newestFirst)
  }

  /** The rows of those of `docIds` that are the workspace's, deleted or not (a client drops those), newest first. */
  rows(workspaceId: string, docIds: readonly string[]): DocumentRow[] {
    const rows = new Map<string, DocumentRow>()
    for (const id of docIds) {
      const r = this.current(id)
      if (r && r.workspaceId === workspaceId) rows.set(id, r)
    }
    return [...rows.values()].sort(newestFirst)
  }

  /** This device has seen the document as it is now; it also follows it from now on. */
  async markRead(docId: string, heads?: string[]): Promise<void> {
    const { store, events } = this.components
    const row = this.row(docId)
    await store.write(() => store.markRead(docId, Date.now(), heads))
    events.emit('list', row.workspaceId, docId)
  }

  follows(docId: string): boolean {
    return this.components.store.getRead(docId)?.followed ?? false
  }

  /** Documents changed by someone else since this device last saw them. */
  unread(rows: DocumentRow[]): Set<string> {
    const reads = this.components.store.listReads()
    return new Set(rows.filter((r) => r.lastRemoteAt > (reads.get(r.id)?.readAt ?? 0)).map((r) => r.id))
  }

  /** A client wrote in the document: this device follows it (the mark is written once a run). */
  follow(docId: string): void {
    const { store } = this.components
    if (!this.followed.has(docId)) {
      this.followed.add(docId)
      void store.write(() => store.follow(docId)).catch(() => this.followed.delete(docId))
    }
  }

  /**
   * Updates the listing row of a document (title, heads, last change). The new row is visible at
   * once through `fresh`, and reaches the database in the next group commit. False when the
   * document has no row yet (its first changes are being committed).
   */
  refreshRow(
    docId: string,
    l: { ws: string; header(): { title: string; deleted: boolean }; heads(): string[] },
    last: { at: number; by: string } | null,
    added: number,
  ): boolean {
    const base = this.current(docId)
    if (!base) return false
    // Not the text: reading it costs its length, at every change.
    const c = l.header()
    const next: DocumentRow = {
      ...base,
      title: c.title,
      deleted: c.deleted,
      heads: l.heads(),
      changeCount: added > 0 ? base.changeCount + added : this.components.store.countChangesAfter(docId, 0),
      lastChangeAt: last ? Math.max(base.lastChangeAt, last.at) : base.lastChangeAt,
      lastChangeBy: last ? last.by : base.lastChangeBy,
      lastRemoteAt: last && last.by !== this.components.device.deviceId ? Date.now() : base.lastRemoteAt,
    }
    this.putRow(l.ws, next)
    return true
  }

  /** A new listing row: visible at once through `fresh`, in the database later (see the top of this file). */
  putRow(workspaceId: string, next: DocumentRow): void {
    this.fresh.set(next.id, next)
    if (this.dirtyRows.size === 0) this.dirtySince = performance.now()
    this.dirtyRows.set(next.id, next)
    this.rowTimer ??= setTimeout(() => void this.flushRows(), ROW_FLUSH_MS)
    this.components.events.emit('list', workspaceId, next.id)
  }

  /** Inside a store write: upserts the listing rows waiting if they are due (see `dirtyRows`); returns them. */
  writeDueRows(): DocumentRow[] {
    return this.dirtyRows.size > 0 && performance.now() - this.dirtySince >= ROW_FLUSH_MS ? this.writeDirtyRows() : []
  }

  /** Inside a store write: upserts the listing rows waiting; returns them. */
  writeDirtyRows(): DocumentRow[] {
    const rows = [...this.dirtyRows.values()]
    this.dirtyRows.clear()
    for (const r of rows) this.components.store.upsertDocument(r)
    return rows
  }

  /** The write that carried `rows` was rolled back: they wait for the next commit again, unless a newer row came meanwhile. */
  rowsRolledBack(rows: DocumentRow[]): void {
    // Due at once: they waited their time already.
    if (rows.length > 0 && this.dirtyRows.size === 0) this.dirtySince = performance.now() - ROW_FLUSH_MS
    for (const r of rows) if (!this.dirtyRows.has(r.id)) this.dirtyRows.set(r.id, r)
  }

  /** Rows now in the database: the store answers for them again, unless a newer row came meanwhile. */
  rowsDurable(rows: DocumentRow[]): void {
    for (const r of rows) if (this.fresh.get(r.id) === r) this.fresh.delete(r.id)
  }

  /** Writes the listing rows waiting, when no change commit came to carry them. */
  async flushRows(): Promise<void> {
    if (this.rowTimer) clearTimeout(this.rowTimer)
    this.rowTimer = null
    if (this.dirtyRows.size === 0) return
    let rows: DocumentRow[] = []
    try {
      this.rowsDurable(await this.components.store.write(() => (rows = this.writeDirtyRows())))
    } catch (err) {
      // Back in the queue for the next commit (a failed write took them out); a crash meanwhile is repaired at start.
      this.rowsRolledBack(rows)
      this.components.log('warn', `listing rows: ${(err as Error).message}`)
    }
  }
}

/** The listing's order: newest change first, then by id (the same order every time). */
function newestFirst(a: DocumentRow, b: DocumentRow): number {
  return b.lastChangeAt - a.lastChangeAt || (a.id < b.id ? -1 : 1)
}
