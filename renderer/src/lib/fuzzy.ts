/** Fuzzy matching for the command palette and the document filter. */

/**
 * A score for `query` against `text` (higher is better), or null when the query's characters do
 * not all appear in order. Consecutive characters and word starts score higher; case is ignored.
 */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.trim().toLowerCase()
  if (q === '') return 0
  const t = text.toLowerCase()
  const exact = t.indexOf(q)
  if (exact >= 0) return 1000 - exact - (t.length - q.length) / 100 + (exact === 0 || /\W/.test(t[exact - 1]!) ? 100 : 0)
  let score = 0
  let ti = 0
  let run = 0
  for (const ch of q) {
    if (ch === ' ') continue
    const found = t.indexOf(ch, ti)
    if (found < 0) return null
    run = found === ti ? run + 1 : 0
    const wordStart = found === 0 || /[\s\-_./]/.test(t[found - 1]!)
    score += 1 + run * 2 + (wordStart ? 5 : 0) - Math.min(found - ti, 10) * 0.1
    ti = found + 1
  }
  return score
}

/** The items that match `query`, best first; ties keep their original order. */
export function fuzzyFilter<T>(items: readonly T[], query: string, textOf: (item: T) => string): T[] {
  if (query.trim() === '') return [...items]
  return items
    .map((item, i) => ({ item, i, s: fuzzyScore(query, textOf(item)) }))
    .filter((x): x is { item: T; i: number; s: number } => x.s !== null)
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.item)
}
