/**
 * What teammates' changes did to the text, as one CodeMirror ChangeSet: from Automerge's patches (in
 * order, each on the text as the one before left it), or, where the patches say something else (the
 * whole text replaced, a patch this does not know), from the texts before and after.
 */
import type * as A from '@automerge/automerge'
import { ChangeSet } from '@codemirror/state'

const TEXT = 'text'
/**
 * Only '\n' breaks a line, here and in the editor (Editor.tsx): a '\r' stays a character, so that
 * positions count the same characters as Automerge's text.
 */
export const LINE = '\n'

/** The change from `before` to `after` that the patches describe (empty when the text did not change). */
export function textChanges(patches: readonly A.Patch[], before: string, after: string): ChangeSet {
  let cs = ChangeSet.empty(before.length)
  let length = before.length
  for (const p of patches) {
    if (p.path[0] !== TEXT) continue
    let next: ChangeSet | null = null
    const at = p.path[1]
    if (p.path.length === 2 && typeof at === 'number' && at >= 0 && at <= length) {
      if (p.action === 'splice' && typeof p.value === 'string') next = ChangeSet.of({ from: at, insert: p.value }, length, LINE)
      else if (p.action === 'del') {
        const n = p.length ?? 1
        if (at + n <= length) next = ChangeSet.of({ from: at, to: at + n }, length, LINE)
      }
    }
    if (!next) return diff(before, after)
    cs = cs.compose(next)
    length = next.newLength
  }
  return length === after.length && gives(cs, before, after) ? cs : diff(before, after)
}

/** Whether `cs` turns `before` into `after` (the kept stretches and the insertions compared, native string compares). */
function gives(cs: ChangeSet, before: string, after: string): boolean {
  let ok = true
  cs.iterGaps((fromA, fromB, n) => {
    if (ok && before.slice(fromA, fromA + n) !== after.slice(fromB, fromB + n)) ok = false
  })
  cs.iterChanges((_fromA, _toA, fromB, toB, inserted) => {
    if (ok && inserted.toString() !== after.slice(fromB, toB)) ok = false
  })
  return ok
}

/** One replacement of the part that differs (the common start and end kept). */
function diff(before: string, after: string): ChangeSet {
  let start = 0
  const max = Math.min(before.length, after.length)
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++
  let end = 0
  while (end < max - start && before.charCodeAt(before.length - 1 - end) === after.charCodeAt(after.length - 1 - end)) end++
  if (start === before.length && start === after.length) return ChangeSet.empty(before.length)
  return ChangeSet.of({ from: start, to: before.length - end, insert: after.slice(start, after.length - end) }, before.length, LINE)
}
