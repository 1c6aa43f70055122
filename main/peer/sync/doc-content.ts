/** Reading a Grapevine document inside Automerge (its shape is shared/doc-content.ts), and the edits the peer makes itself. */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'

export type GDoc = A.Doc<DocContent>

export function readContent(doc: GDoc): { title: string; text: string; deleted: boolean } {
  return {
    title: typeof doc.title === 'string' ? doc.title : '',
    text: typeof doc.text === 'string' ? doc.text : '',
    deleted: doc.deleted === true,
  }
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

/** A stable digest of a document's heads, for the catch-up summary. */
export function headsKey(heads: readonly string[]): string {
  return [...heads].sort().join(',')
}
