/**
 * A workspace's listing of documents as the window keeps it: loaded whole once, then kept up to date row
 * by row. The peer's `doc.list` event names the documents whose rows changed (at most twice a second per
 * workspace while a teammate types); the window asks for those rows only (`doc.list` with `docIds`), not for
 * the whole listing again: a thousand documents are about 300 KB to send, check and render each time.
 * An event that names none (many changed, or the peer cannot say) loads the whole listing again.
 */
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import type { DocumentSummary } from '../../../shared/types.ts'
import { MAX_LIST_REQUEST_DOCS } from '../../../shared/limits.ts'

export type ListingClient = Pick<PeerClient, 'request' | 'onEvent'>

export interface ListingState {
  data: DocumentSummary[] | undefined
  error: unknown
  loading: boolean
}

/** Several events close together cause one request. */
const SETTLE_MS = 80

/** The listing after asking for `asked`: their rows replaced or added, those deleted or gone dropped; newest change first. */
export function mergeListing(
  current: readonly DocumentSummary[],
  asked: readonly string[],
  rows: readonly DocumentSummary[],
): DocumentSummary[] {
  const byId = new Map(current.map((d) => [d.id, d]))
  for (const id of asked) byId.delete(id)
  for (const r of rows) if (!r.deleted) byId.set(r.id, r)
  return [...byId.values()].sort((a, b) => b.lastChangeAt - a.lastChangeAt || (a.id < b.id ? -1 : 1))
}

export class ListingSource {
  state: ListingState = { data: undefined, error: null, loading: true }
  private readonly client: ListingClient
  readonly workspaceId: string
  private readonly listeners = new Set<(s: ListingState) => void>()
  /** What to ask for next: the whole listing, or these rows. */
  private due: 'all' | Set<string> | null = null
  private inFlight = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private off: (() => void) | null = null
  private generation = 0
  /** A request for rows failed: the next event loads the whole listing (not at once: a lost peer fails every request). */
  private stale = false

  constructor(client: ListingClient, workspaceId: string) {
    this.client = client
    this.workspaceId = workspaceId
  }

  subscribe(listener: (s: ListingState) => void): () => void {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.start()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  /** Loads the whole listing again (soon; with whatever else is due). */
  reload(): void {
    this.note('all')
  }

  private start(): void {
    this.off = this.client.onEvent((e: ClientEvent) => {
      if (e.type === 'doc.list' && e.workspaceId === this.workspaceId) this.note(e.docIds ?? 'all')
      // A teammate's change, told a few seconds later: its row (unread, last change) may have moved.
      else if (e.type === 'doc.activity' && e.workspaceId === this.workspaceId) this.note([e.docId])
    })
    this.due = 'all'
    this.run()
  }

  private stop(): void {
    this.generation++
    this.off?.()
    this.off = null
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.inFlight = false
    this.due = null
    this.stale = false
  }

  private note(ids: 'all' | readonly string[]): void {
    if (ids === 'all' || this.due === 'all' || this.stale) {
      this.due = 'all'
      this.stale = false
    } else {
      this.due ??= new Set()
      for (const id of ids) this.due.add(id)
      if (this.due.size > MAX_LIST_REQUEST_DOCS) this.due = 'all'
    }
    if (this.inFlight || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.run()
    }, SETTLE_MS)
  }

  private run(): void {
    if (this.inFlight || !this.due || !this.off) return
    // Rows alone only on top of a listing already here.
    const due = this.state.data ? this.due : 'all'
    this.due = null
    this.inFlight = true
    const g = this.generation
    const asked = due === 'all' ? null : [...due]
    this.client.request('doc.list', asked ? { workspaceId: this.workspaceId, docIds: asked } : { workspaceId: this.workspaceId }).then(
      (rows) => {
        if (g !== this.generation) return
        const data = asked && this.state.data ? mergeListing(this.state.data, asked, rows) : rows
        this.settle({ data, error: null, loading: false })
      },
      (error: unknown) => {
        if (g !== this.generation) return
        // The rows asked for are still stale: the next event asks again, for everything.
        this.stale = true
        this.settle({ data: this.state.data, error, loading: false })
      },
    )
  }

  private settle(s: ListingState): void {
    this.inFlight = false
    this.state = s
    for (const l of this.listeners) l(s)
    if (this.due && !this.timer) this.run()
  }
}
