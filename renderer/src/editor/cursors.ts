/**
 * Selections as Automerge cursors: stable under concurrent edits, so a teammate's caret stays on
 * the same character while others type before it. Pure functions over an Automerge document.
 */
import * as A from '@automerge/automerge'
import type { Cursor } from '../../../shared/types.ts'

export interface Selection {
  anchor: number
  head: number
}

const TEXT: A.Prop[] = ['text']

/**
 * The Automerge cursors for a selection in the document's text (clamped to its length: `length` if
 * given, when the document's view may lag its text, else the view's).
 */
export function toCursors(doc: A.Doc<unknown>, sel: Selection, length?: number): Cursor | null {
  const text = (doc as { text?: unknown }).text
  if (typeof text !== 'string') return null
  const max = length ?? text.length
  const clamp = (n: number): number => Math.max(0, Math.min(n, max))
  try {
    return { anchor: A.getCursor(doc, TEXT, clamp(sel.anchor)), head: A.getCursor(doc, TEXT, clamp(sel.head)) }
  } catch {
    return null
  }
}

/**
 * Where a teammate's cursors point in this replica, or null when they refer to characters this
 * replica has not received yet (their changes are still on the way).
 */
export function fromCursors(doc: A.Doc<unknown>, c: Cursor): Selection | null {
  const text = (doc as { text?: unknown }).text
  if (typeof text !== 'string') return null
  try {
    const anchor = A.getCursorPosition(doc, TEXT, c.anchor)
    const head = A.getCursorPosition(doc, TEXT, c.head)
    const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= text.length
    return ok(anchor) && ok(head) ? { anchor, head } : null
  } catch {
    return null
  }
}
