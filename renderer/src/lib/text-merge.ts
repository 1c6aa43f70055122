/**
 * A card's title or description is typed into a field, then saved whole (`card.update`, which the peer
 * turns into the text edit from what it has to what is sent). A teammate may have changed the same text
 * meanwhile: `mergeEdit` keeps both changes when they touch different parts of the text, so that saving
 * one's own edit does not undo theirs. Each side's change is taken as one replaced span (the text between
 * the common start and the common end); where the two spans overlap, one's own edit wins there.
 */

interface Span {
  /** Replaced in the base: [start, end). */
  start: number
  end: number
  text: string
}

/** The one span of `base` that `next` replaces. */
function spanOf(base: string, next: string): Span {
  let start = 0
  const max = Math.min(base.length, next.length)
  while (start < max && base[start] === next[start]) start++
  let tail = 0
  while (tail < max - start && base[base.length - 1 - tail] === next[next.length - 1 - tail]) tail++
  return { start, end: base.length - tail, text: next.slice(start, next.length - tail) }
}

/** `ours` and `theirs` are both edits of `base`: the text with both. */
export function mergeEdit(base: string, ours: string, theirs: string): string {
  if (ours === base || ours === theirs) return theirs
  if (theirs === base) return ours
  const o = spanOf(base, ours)
  const t = spanOf(base, theirs)
  // Where both replaced text, or both inserted at one place inside the other's span: one's own edit wins.
  if (o.end > t.start && t.end > o.start) return ours
  const [first, second] = o.start <= t.start ? [o, t] : [t, o]
  return base.slice(0, first.start) + first.text + base.slice(first.end, second.start) + second.text + base.slice(second.end)
}
