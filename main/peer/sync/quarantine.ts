/**
 * Changes that decode but that Automerge refuses to apply: an operation on an object or an element
 * nobody made panics inside the apply, and the document it was applied to may be unusable after.
 * Checking a change (change-validation.ts) decodes it but cannot tell this without the document, and a
 * teammate's keystrokes are stored before they are applied (doc-cache.ts `Loaded.defer`), so such a
 * change from a member could otherwise make a document unreadable here for good.
 *
 * When an apply fails, the document is loaded again from its log (doc-cache.ts `fromLog`): if the log
 * does not apply either, what does apply is found by halves, each tried on a fresh copy, and what does
 * not is left out and removed from the log. Its hash is kept (in memory, and in the store's meta), so
 * that the same change arriving again is dropped at once.
 */
import * as A from '@automerge/automerge'
import type { Log } from '../log.ts'
import type { ChangeLog, Durable, MetaStore } from '../store/types.ts'
import type { GDoc } from './doc-content.ts'

/**
 * Applies stored changes in one call (a run or a cover is a bundle: `loadIncremental` takes bundles and
 * changes alike; a cover's rows after its first are given as nothing, doc-cache.ts `fromLog`).
 */
export function applyRows(doc: GDoc, rows: readonly { n: number; cover?: number | null }[], plain: Uint8Array[]): GDoc {
  if (rows.some((r) => r.n > 1 || (r.cover ?? null) !== null)) return A.loadIncremental(doc, Buffer.concat(plain))
  return A.applyChanges(doc, plain)[0]
}

/**
 * `plain` with each cover's bundle (given with the first of its rows, doc-cache.ts `fromLog`) split into its
 * changes, each given to its own row by hash: what does not apply is then found change by change, as among
 * envelopes, and the cover's other changes stay. A cover whose bundle does not read, or whose changes do not
 * encode back to their hashes (no change Automerge makes is such), is given whole to each of its rows: if it
 * does not apply, it is left out whole.
 */
export function splitCovers(rows: readonly { hash: string; cover?: number | null }[], plain: readonly Uint8Array[]): Uint8Array[] {
  const bundles = new Map<number, Uint8Array>()
  rows.forEach((r, i) => {
    if ((r.cover ?? null) !== null && plain[i]!.byteLength > 0) bundles.set(r.cover!, plain[i]!)
  })
  const each = new Map<number, Map<string, Uint8Array> | null>()
  for (const [id, bundle] of bundles) {
    try {
      const changes = new Map(A.readBundle(bundle).changes.map((c) => [c.hash, A.encodeChange(c)]))
      each.set(id, [...changes].every(([h, bytes]) => A.decodeChange(bytes).hash === h) ? changes : null)
    } catch {
      each.set(id, null)
    }
  }
  return rows.map((r, i) => {
    const id = r.cover ?? null
    if (id === null) return plain[i]!
    const changes = each.get(id)
    if (changes === undefined) return plain[i]!
    return changes === null ? bundles.get(id)! : (changes.get(r.hash) ?? NOTHING)
  })
}

const NOTHING = new Uint8Array(0)

/**
 * Applies what applies of `rows` (in their order) to copies of `doc`, by halves; returns the document
 * with them and the rows left out. `doc` itself is never applied to.
 */
export function applyWhatApplies<R extends { n: number; cover?: number | null }>(
  doc: GDoc,
  rows: R[],
  plain: Uint8Array[],
): { doc: GDoc; refused: R[] } {
  try {
    return { doc: applyRows(A.clone(doc, { actor: A.getActorId(doc) }), rows, plain), refused: [] }
  } catch {
    if (rows.length === 1) return { doc, refused: rows }
    const mid = rows.length >> 1
    const first = applyWhatApplies(doc, rows.slice(0, mid), plain.slice(0, mid))
    const second = applyWhatApplies(first.doc, rows.slice(mid), plain.slice(mid))
    return { doc: second.doc, refused: [...first.refused, ...second.refused] }
  }
}

export interface QuarantineComponents {
  store: Durable & ChangeLog & MetaStore
  log: Log
}

/**
 * The changes left out of documents here because they do not apply: removed from the log, and their
 * hashes kept in memory (at most `MAX_REFUSED`, the oldest dropped first) and in the store's meta
 * (`refused:<docId>`, at most `MAX_REFUSED_PER_DOC` per document, read once per run and document).
 */
export class Quarantine {
  private readonly components: QuarantineComponents
  /** "docId hash" of every refused change known. */
  private readonly refused = new Set<string>()
  /** Documents whose stored list was read. */
  private readonly read = new Set<string>()

  constructor(components: QuarantineComponents) {
    this.components = components
  }

  /** Whether any change was left out of the document here. */
  refusesAny(docId: string): boolean {
    this.readStored(docId)
    const prefix = `${docId} `
    for (const k of this.refused) if (k.startsWith(prefix)) return true
    return false
  }

  /** Whether the change was left out of the document here: it is dropped if it comes again. */
  refuses(docId: string, hash: string): boolean {
    this.readStored(docId)
    return this.refused.has(`${docId} ${hash}`)
  }

  /** Leaves `rows` out of the document for good: removed from its log, and remembered. */
  refuse(docId: string, rows: readonly { hash: string; author: string }[], why: string): void {
    const { store, log } = this.components
    this.readStored(docId)
    const hashes = rows.map((r) => r.hash)
    for (const h of hashes) this.refused.add(`${docId} ${h}`)
    for (const k of this.refused) {
      if (this.refused.size <= MAX_REFUSED) break
      this.refused.delete(k)
    }
    const prefix = `${docId} `
    const kept = [...this.refused]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length))
      .slice(-MAX_REFUSED_PER_DOC)
    log(
      'warn',
      `${docId}: ${hashes.length} stored changes do not apply (${why}; by ${[...new Set(rows.map((r) => r.author))].join(', ')}); removed from its log`,
    )
    void store
      .writeNow(() => {
        store.removeChanges(docId, hashes)
        store.setMeta(`refused:${docId}`, JSON.stringify(kept))
      })
      .catch((e: Error) => log('warn', `removing changes of ${docId}: ${e.message}`))
  }

  private readStored(docId: string): void {
    if (this.read.has(docId)) return
    if (this.read.size >= MAX_REFUSED) this.read.clear()
    this.read.add(docId)
    const stored = this.components.store.getMeta(`refused:${docId}`)
    if (stored) for (const h of JSON.parse(stored.toString()) as string[]) this.refused.add(`${docId} ${h}`)
  }
}

const MAX_REFUSED = 10_000
const MAX_REFUSED_PER_DOC = 1_000
