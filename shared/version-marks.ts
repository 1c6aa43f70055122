/**
 * An older version of a text against the text now, as marks on the older one (the ranges of it that are
 * gone now, and what was inserted since and where: a reader sees the old text as it was, with what changed
 * since marked) and on the text now (what is new since, and where something was deleted: the editor shows
 * what changed since the reader last read it). Built from Automerge's patches from the old heads to the new.
 * Pure: the peer (history) and the renderer (the editor) use it.
 */
import type * as A from '@automerge/automerge'

export interface VersionMarks {
  /** Ranges [from, to) of the old text that the text now no longer has. */
  removed: [number, number][]
  /** Text the text now has that the old one had not, placed at a position of the old text. */
  added: { at: number; text: string }[]
  /** The same on the text now: ranges [from, to) of it that are new since the old one. */
  inserted: [number, number][]
  /** Positions of the text now where old text was deleted. */
  deletedAt: number[]
}

/** A piece of the text as it evolves under the patches: old characters (kept or since removed) or inserted ones. */
type Piece = { kind: 'old'; from: number; to: number; removed: boolean } | { kind: 'new'; text: string }

/**
 * The marks that `patches` (old → now, of the whole document; those of the text at `path` are used) put on
 * the old text of length `oldLength`. A patch that replaces the text object whole marks it all removed and
 * the new text added.
 */
export function versionMarks(oldLength: number, patches: readonly A.Patch[], path = 'text'): VersionMarks {
  const pieces: Piece[] = oldLength ? [{ kind: 'old', from: 0, to: oldLength, removed: false }] : []
  const len = (p: Piece): number => (p.kind === 'new' ? p.text.length : p.removed ? 0 : p.to - p.from)
  // Patches mostly come in order of position: a cursor keeps each one's walk short.
  let ci = 0
  let cstart = 0
  /** The piece index at which the text's position `at` starts, splitting a piece if `at` falls inside one. */
  const seek = (at: number): number => {
    if (at < cstart) {
      ci = 0
      cstart = 0
    }
    while (ci < pieces.length && cstart + len(pieces[ci]!) <= at) {
      cstart += len(pieces[ci]!)
      ci++
    }
    // Skip pieces of no length (removed old text) only when `at` is past them; insertions land before them.
    if (ci < pieces.length && at > cstart) {
      const p = pieces[ci]!
      const cut = at - cstart
      if (p.kind === 'new') pieces.splice(ci, 1, { kind: 'new', text: p.text.slice(0, cut) }, { kind: 'new', text: p.text.slice(cut) })
      else pieces.splice(ci, 1, { ...p, to: p.from + cut }, { ...p, from: p.from + cut })
      cstart += cut
      ci++
    }
    return ci
  }
  for (const patch of patches) {
    if (patch.path[0] !== path) continue
    if (patch.path.length === 1) {
      if (patch.action === 'put' || patch.action === 'del') {
        for (const p of pieces) if (p.kind === 'old') p.removed = true
        for (let i = pieces.length - 1; i >= 0; i--) if (pieces[i]!.kind === 'new') pieces.splice(i, 1)
        if (patch.action === 'put' && typeof patch.value === 'string' && patch.value) pieces.push({ kind: 'new', text: patch.value })
        ci = 0
        cstart = 0
      }
      continue
    }
    const at = patch.path[1]
    if (typeof at !== 'number' || patch.path.length !== 2) continue
    if (patch.action === 'splice') {
      if (!patch.value) continue
      const i = seek(at)
      pieces.splice(i, 0, { kind: 'new', text: patch.value })
    } else if (patch.action === 'del') {
      let left = patch.length ?? 1
      let i = seek(at)
      while (left > 0 && i < pieces.length) {
        const p = pieces[i]!
        const l = len(p)
        if (l === 0) {
          i++
          continue
        }
        if (l > left) {
          // Only part of this piece goes: split it, the first part goes.
          if (p.kind === 'new') pieces.splice(i, 1, { kind: 'new', text: p.text.slice(0, left) }, { kind: 'new', text: p.text.slice(left) })
          else pieces.splice(i, 1, { ...p, to: p.from + left }, { ...p, from: p.from + left })
          continue
        }
        if (p.kind === 'new') pieces.splice(i, 1)
        else {
          p.removed = true
          i++
        }
        left -= l
      }
    }
  }
  const marks: VersionMarks = { removed: [], added: [], inserted: [], deletedAt: [] }
  let oldPos = 0
  let newPos = 0
  for (const p of pieces) {
    if (p.kind === 'new') {
      if (!p.text) continue
      const last = marks.added.at(-1)
      if (last && last.at === oldPos) last.text += p.text
      else marks.added.push({ at: oldPos, text: p.text })
      const ins = marks.inserted.at(-1)
      if (ins && ins[1] === newPos) ins[1] += p.text.length
      else marks.inserted.push([newPos, newPos + p.text.length])
      newPos += p.text.length
      continue
    }
    if (p.removed) {
      const last = marks.removed.at(-1)
      if (last && last[1] === p.from) last[1] = p.to
      else marks.removed.push([p.from, p.to])
      if (marks.deletedAt.at(-1) !== newPos) marks.deletedAt.push(newPos)
    } else newPos += p.to - p.from
    oldPos = p.to
  }
  return marks
}

/** Lines of a text, each with its newline (the last one without, if the text does not end in one). */
const linesOf = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? []

/**
 * The marks on an old text against the text now when there are no Automerge patches between them (a board
 * shown as text, shared/board.ts `boardText`): whole lines removed and added, from the longest common
 * subsequence of lines. Above `maxCells` (lines of one × lines of the other, once the common start and end
 * are set aside) every differing line is marked, without looking for common ones in between.
 */
export function lineMarks(oldText: string, newText: string, maxCells = 4_000_000): Pick<VersionMarks, 'removed' | 'added'> {
  const a = linesOf(oldText)
  const b = linesOf(newText)
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  const x = a.slice(pre, a.length - suf)
  const y = b.slice(pre, b.length - suf)
  const n = x.length
  const m = y.length
  // '=' a line kept, '-' an old line gone, '+' a new line.
  const steps: string[] = []
  if (n * m > maxCells) steps.push(...Array<string>(n).fill('-'), ...Array<string>(m).fill('+'))
  else {
    // lcs[i * (m + 1) + j]: the longest common subsequence of x[i..] and y[j..].
    const lcs = new Uint32Array((n + 1) * (m + 1))
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * (m + 1) + j] =
          x[i] === y[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!)
    let i = 0
    let j = 0
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        steps.push('=')
        i++
        j++
      } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1]! >= lcs[(i + 1) * (m + 1) + j]!)) {
        steps.push('+')
        j++
      } else {
        steps.push('-')
        i++
      }
    }
  }
  const marks: Pick<VersionMarks, 'removed' | 'added'> = { removed: [], added: [] }
  let pos = a.slice(0, pre).reduce((s, l) => s + l.length, 0)
  let i = 0
  let j = 0
  for (const s of steps) {
    if (s === '=') {
      pos += x[i++]!.length
      j++
    } else if (s === '-') {
      const len = x[i++]!.length
      const last = marks.removed.at(-1)
      if (last && last[1] === pos) last[1] = pos + len
      else marks.removed.push([pos, pos + len])
      pos += len
    } else {
      const text = y[j++]!
      const last = marks.added.at(-1)
      if (last && last.at === pos) last.text += text
      else marks.added.push({ at: pos, text })
    }
  }
  return marks
}
