/**
 * Full-text search across the documents of the workspaces this device reads (SQLite FTS5; the store's
 * `SearchStore`). Kept current on every change: a document whose heads moved (an edit here, a teammate's
 * change applied, a document created, renamed or deleted) is indexed again once its edits pause
 * (`INDEX_MS`), and at once before any search, so what was just typed or just arrived is found. A deleted
 * document leaves the index. A profile that no version indexed yet (meta `search_indexed`) is indexed
 * whole in the background at start, and `rebuild` does it again on demand.
 *
 * A keeper indexes nothing: it cannot read what it stores, and the index would be plaintext on its disk.
 * A member's index is as readable as the snapshots next to it (which hold the text for fast opening).
 */
import { MAX_SEARCH_RESULTS } from '../../../shared/limits.ts'
import type { SearchHit } from '../../../shared/types.ts'
import { singleFlight } from '../../../shared/throttle.ts'
import type { Log } from '../log.ts'
import type { Durable, MetaStore, SearchRow, SearchStore } from '../store/types.ts'
import type { Documents } from './documents.ts'

/**
 * A document's edits are indexed once they pause this long, or this long after the first one left
 * unindexed while they go on (and at once before any search). Indexing reads the whole text: a long
 * document typed into was read again every second before, though nobody searched.
 */
const INDEX_MS = 1_000
const MAX_INDEX_WAIT_MS = 10_000
/** Documents indexed per commit in a rebuild: each commit stays short, so edits are not held up. */
const REBUILD_CHUNK = 100
const INDEXED_META = 'search_indexed'

type Content = { title: string; text: string; deleted: boolean }
/** Words of a query used; the rest are ignored. */
const MAX_TERMS = 16
const MAX_TERM_CHARS = 64

export interface SearchComponents {
  store: Durable & MetaStore & SearchStore
  documents: Pick<Documents, 'content' | 'list' | 'on'>
  /** The workspaces whose documents this device can read (not those it keeps as a keeper). */
  readable: () => string[]
  log: Log
}

export class SearchIndex {
  private readonly c: SearchComponents
  /** Documents to index again: docId → workspace. */
  private readonly pending = new Map<string, string>()
  private timer: NodeJS.Timeout | null = null
  /** When the oldest edit not indexed yet came. */
  private pendingSince = 0
  private flushing: Promise<void> = Promise.resolve()
  private stopped = false
  readonly stats = { indexed: 0, removed: 0, searches: 0 }

  constructor(components: SearchComponents) {
    this.c = components
  }

  start(): void {
    this.c.documents.on('heads', (ws, docId) => this.touch(ws, docId))
    if (this.c.store.getMeta(INDEXED_META) === undefined) {
      void this.rebuild().catch((err: unknown) => this.c.log('warn', `search index: ${(err as Error).message}`))
    }
  }

  /** Indexes what is pending; what changes after this waits for the next time. */
  async stop(): Promise<void> {
    await this.flush()
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** A document changed: it is indexed again once its edits pause. */
  touch(workspaceId: string, docId: string): void {
    if (this.stopped) return
    const now = Date.now()
    if (this.pending.size === 0) this.pendingSince = now
    this.pending.set(docId, workspaceId)
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(
      () => {
        this.timer = null
        void this.flush()
      },
      Math.max(0, Math.min(INDEX_MS, this.pendingSince + MAX_INDEX_WAIT_MS - now)),
    )
  }

  /** Indexes every pending document now, in one commit. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0 || this.stopped) return
      const docs = [...this.pending]
      this.pending.clear()
      const readable = new Set(this.c.readable())
      // A document of a workspace this device no longer reads leaves the index; one that cannot be read
      // just now (an error is logged) keeps what was indexed of it.
      type Row = { docId: string; ws: string; content: Content | null }
      const rows = docs.flatMap(([docId, ws]): Row[] => {
        if (!readable.has(ws)) return [{ docId, ws, content: null }]
        const content = this.read(docId)
        return content ? [{ docId, ws, content }] : []
      })
      try {
        await this.c.store.write(() => {
          for (const r of rows) this.put(r.docId, r.ws, r.content)
        })
      } catch (err) {
        // Indexed at the next change, or the next rebuild.
        this.c.log('warn', `search index: ${(err as Error).message}`)
      }
    })
    return this.flushing
  }

  /** The documents of `workspaceIds` (those of them this device reads) that match `query`, best first. */
  async search(query: string, workspaceIds: string[], limit = MAX_SEARCH_RESULTS): Promise<SearchHit[]> {
    this.stats.searches++
    const match = ftsQuery(query)
    const readable = new Set(this.c.readable())
    const ws = workspaceIds.filter((w) => readable.has(w))
    if (!match || ws.length === 0) return []
    await this.flush()
    return this.c.store.searchDocuments(match, ws, Math.min(limit, MAX_SEARCH_RESULTS)).map((r) => hitOf(r, query))
  }

  /** Indexes every readable document again, from nothing; resolves with how many are indexed. */
  readonly rebuild: () => Promise<number> = singleFlight(() => this.rebuildNow())

  private async rebuildNow(): Promise<number> {
    const { store, documents } = this.c
    const docs = this.c.readable().flatMap((ws) => documents.list(ws).map((r) => ({ docId: r.id, ws })))
    await store.write(() => store.clearSearchIndex())
    let indexed = 0
    for (let i = 0; i < docs.length && !this.stopped; i += REBUILD_CHUNK) {
      const chunk = docs.slice(i, i + REBUILD_CHUNK).map((d) => ({ ...d, content: this.read(d.docId) }))
      await store.write(() => {
        for (const d of chunk) this.put(d.docId, d.ws, d.content)
      })
      indexed += chunk.filter((d) => d.content && !d.content.deleted).length
      // Let edits and gossip in between chunks.
      await new Promise((resolve) => setImmediate(resolve))
    }
    if (!this.stopped) await store.write(() => store.setMeta(INDEXED_META, String(Date.now())))
    this.c.log('info', `search index rebuilt: ${indexed} documents`)
    return indexed
  }

  private read(docId: string): Content | null {
    try {
      return this.c.documents.content(docId)
    } catch (err) {
      this.c.log('warn', `search index: could not read ${docId}: ${(err as Error).message}`)
      return null
    }
  }

  /** Inside a store write: the document as it is now, or out of the index if it is gone or unreadable. */
  private put(docId: string, ws: string, content: Content | null): void {
    if (!content || content.deleted) {
      this.c.store.unindexDocument(docId)
      this.stats.removed++
      return
    }
    this.c.store.indexDocument(docId, ws, content.title, content.text)
    this.stats.indexed++
  }
}

/**
 * A person's words as an FTS5 query: each run of letters or digits a prefix term, all of them required.
 * Nothing of FTS5's own syntax (quotes, NEAR, column filters, operators) passes through, so any input is
 * a valid query; null when there is no word at all.
 */
export function ftsQuery(words: string): string | null {
  const terms = words.normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? []
  if (terms.length === 0) return null
  return terms
    .slice(0, MAX_TERMS)
    .map((t) => `"${t.slice(0, MAX_TERM_CHARS)}"*`)
    .join(' ')
}

const START = '\u0002'
const END = '\u0003'

/** The store's row as a hit: the snippet in parts, and where in the text the first hit is (null: in the title). */
function hitOf(r: SearchRow, query: string): SearchHit {
  const parts: SearchHit['parts'] = []
  let at: number | null = null
  for (const [i, piece] of r.snippet.split(new RegExp(`[${START}${END}]`)).entries()) {
    if (piece) parts.push({ text: piece, hit: i % 2 === 1 })
  }
  // The snippet is a piece of the body (or of the title) as it is, cut with … at either end: found in the
  // body, it places its first hit there.
  const plain = r.snippet.replaceAll(START, '').replaceAll(END, '')
  const inner = plain.replace(/^…/, '').replace(/…$/, '')
  const from = inner ? r.body.indexOf(inner) : -1
  const firstHit = r.snippet.indexOf(START)
  if (from >= 0 && firstHit >= 0) {
    const lead = r.snippet.slice(0, firstHit).replaceAll(END, '').replace(/^…/, '')
    at = from + lead.length
  } else {
    at = firstWord(r.body, query)
  }
  return { docId: r.docId, workspaceId: r.workspaceId, title: r.title, parts, at }
}

/** Where the first of the query's words starts a word in `text` (case-insensitive), or null. */
function firstWord(text: string, query: string): number | null {
  const lower = text.toLowerCase()
  let best: number | null = null
  for (const t of query.normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? []) {
    const re = new RegExp(`(?<![\\p{L}\\p{N}])${t.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'u')
    const m = re.exec(lower)
    if (m && (best === null || m.index < best)) best = m.index
  }
  return best
}
