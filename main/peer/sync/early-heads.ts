/**
 * Teammates' heads announced for documents this device does not have yet (sync/gossip.ts `judge`): an
 * author announces its heads soon after making a document, and that can come before the document's first
 * changes do. Dropped, nothing would say the teammate holds the document until it changed again or a
 * catch-up session ran; kept here, they are taken when the document's first commit announces it.
 */
export interface EarlyHead {
  ws: string
  origin: string
  heads: string[]
  at: number
}

/**
 * Heads announced for documents this device does not have yet, by document: at most EARLY_DOCS documents,
 * each with the newest announcement of each teammate, for at most EARLY_MS (a document's first changes
 * come within moments of its heads, or catch-up brings both later).
 */
export class EarlyHeads {
  static readonly EARLY_DOCS = 256
  static readonly EARLY_MS = 60_000
  private readonly docs = new Map<string, EarlyHead[]>()
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  keep(docId: string, h: EarlyHead): void {
    const list = (this.docs.get(docId) ?? []).filter((x) => x.origin !== h.origin)
    list.push(h)
    this.docs.delete(docId)
    this.docs.set(docId, list)
    for (const [id, l] of this.docs) {
      if (this.docs.size <= EarlyHeads.EARLY_DOCS && l.every((x) => this.now() - x.at <= EarlyHeads.EARLY_MS)) break
      this.docs.delete(id)
    }
  }

  /** The heads kept for `docId` (and forgets them), unless too old. */
  take(docId: string): EarlyHead[] | undefined {
    const list = this.docs.get(docId)
    if (!list) return undefined
    this.docs.delete(docId)
    const fresh = list.filter((x) => this.now() - x.at <= EarlyHeads.EARLY_MS)
    return fresh.length ? fresh : undefined
  }

  get size(): number {
    return this.docs.size
  }
}
