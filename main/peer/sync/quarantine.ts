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
import type { GDoc } from './doc-content.ts'

/** Applies stored changes in one call (a run is a bundle: `loadIncremental` takes bundles and changes alike). */
export function applyRows(doc: GDoc, rows: readonly { n: number }[], plain: Uint8Array[]): GDoc {
  if (rows.some((r) => r.n > 1)) return A.loadIncremental(doc, Buffer.concat(plain))
  return A.applyChanges(doc, plain)[0]
}

/**
 * Applies what applies of `rows` (in their order) to copies of `doc`, by halves; returns the document
 * with them and the rows left out. `doc` itself is never applied to.
 */
export function applyWhatApplies<R extends { n: number }>(doc: GDoc, rows: R[], plain: Uint8Array[]): { doc: GDoc; refused: R[] } {
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

/** Hashes of changes left out this way, by document; at most `MAX_REFUSED` are kept, the oldest dropped first. */
export class Refused {
  private readonly byKey = new Set<string>()

  has(docId: string, hash: string): boolean {
    return this.byKey.size > 0 && this.byKey.has(`${docId} ${hash}`)
  }

  /** The document's refused hashes, at most `MAX_REFUSED_PER_DOC` of them, the newest last. */
  of(docId: string): string[] {
    const prefix = `${docId} `
    return [...this.byKey]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length))
      .slice(-MAX_REFUSED_PER_DOC)
  }

  add(docId: string, hashes: readonly string[]): void {
    for (const h of hashes) this.byKey.add(`${docId} ${h}`)
    for (const k of this.byKey) {
      if (this.byKey.size <= MAX_REFUSED) break
      this.byKey.delete(k)
    }
  }
}

const MAX_REFUSED = 10_000
/** What is stored of a document's refused hashes (doc-cache.ts `refused:<docId>`). */
const MAX_REFUSED_PER_DOC = 1_000
