/** Reading a Grapevine document inside Automerge (its shape is shared/doc-content.ts), and the edits the peer makes itself. */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'
import { boardText, type DocKind, isBoard, readBoard } from '../../../shared/board.ts'

export type GDoc = A.Doc<DocContent>

/** What a document is: a board has `kind: 'board'`; anything else is text. */
export const kindOf = (doc: GDoc): DocKind => (isBoard(doc) ? 'board' : 'text')

/** Title, text and the deleted mark; a board's text is its rendering (shared/board.ts `boardText`), for search and text-only clients. */
export function readContent(doc: GDoc): { title: string; text: string; deleted: boolean } {
  const { title, deleted, board } = readHeader(doc)
  return { title, text: board ? boardText(readBoard(doc)) : typeof doc.text === 'string' ? doc.text : '', deleted }
}

/** The root keys a listing shows, without reading the text (which costs its length). */
export function readHeader(doc: GDoc): { title: string; deleted: boolean; board: boolean } {
  return { title: typeof doc.title === 'string' ? doc.title : '', deleted: doc.deleted === true, board: isBoard(doc) }
}

export function initContent(d: DocContent, title: string, text: string): void {
  d.title = title
  d.text = text
  d.deleted = false
}

export function setTitle(d: DocContent, title: string): void {
  if (typeof d.title === 'string') A.updateText(d, ['title'], title)
  else d.title = title
}

export function setText(d: DocContent, text: string): void {
  if (typeof d.text === 'string') A.updateText(d, ['text'], text)
  else d.text = text
}

/** One splice of the text: at `at`, remove `del` characters and insert `insert`. */
export interface TextSplice {
  at: number
  del: number
  insert: string
}

/**
 * How to turn `current` into `target`: null when a character diff (`setText`, Automerge's updateText)
 * is cheap, or else splices that replace the middle where they differ, each inserting at most
 * `maxChars`. Two reasons for the second: one change must stay under MAX_CHANGE_BYTES (a bigger one is
 * refused by every teammate), and updateText's diff grows with the product of length and difference
 * (measured here: 1.2 s for 10k characters replaced by 10k others, 6.2 s for 30k).
 */
export function textSplices(current: string, target: string, maxChars: number, diffChars = 16 * 1024): TextSplice[] | null {
  const most = Math.min(current.length, target.length)
  let p = 0
  while (p < most && current.charCodeAt(p) === target.charCodeAt(p)) p++
  let s = 0
  while (s < most - p && current.charCodeAt(current.length - 1 - s) === target.charCodeAt(target.length - 1 - s)) s++
  // Never start or end between the two halves of a surrogate pair.
  if (p > 0 && isHigh(target.charCodeAt(p - 1))) p--
  if (s > 0 && isLow(target.charCodeAt(target.length - s))) s--
  const del = current.length - p - s
  const inserted = target.slice(p, target.length - s)
  if (del + inserted.length <= diffChars && inserted.length <= maxChars) return null
  const splices: TextSplice[] = []
  let done = 0
  do {
    let cut = Math.min(done + maxChars, inserted.length)
    if (cut < inserted.length && isHigh(inserted.charCodeAt(cut - 1))) cut--
    splices.push({ at: p + done, del: done === 0 ? del : 0, insert: inserted.slice(done, cut) })
    done = cut
  } while (done < inserted.length)
  return splices
}

const isHigh = (c: number): boolean => c >= 0xd800 && c < 0xdc00
const isLow = (c: number): boolean => c >= 0xdc00 && c < 0xe000

/** A stable digest of a document's heads, for the catch-up summary. */
export function headsKey(heads: readonly string[]): string {
  return [...heads].sort().join(',')
}
