/** A version of a document for `doc.version`: its title and text then, marked against now (shared/version-marks.ts). */
import * as A from '@automerge/automerge'
import { isBoard } from '../../../shared/board.ts'
import { lineMarks, versionMarks, type VersionMarks } from '../../../shared/version-marks.ts'
import { readContent, type GDoc } from './doc-content.ts'

/**
 * The document at `hash` (its causal past), read only, with what changed since marked on its text. A board
 * reads as its text (a heading per column, a line per card: `boardText`), marked line by line against the
 * board now, since its changes are to cards and columns, not to a text.
 */
export function readVersion(
  doc: GDoc,
  hash: string,
): { title: string; text: string; titleNow: string } & Pick<VersionMarks, 'removed' | 'added'> {
  const then = readContent(A.view(doc, [hash]))
  const now = readContent(doc)
  const { removed, added } = isBoard(doc)
    ? lineMarks(then.text, now.text)
    : versionMarks(then.text.length, A.diff(doc, [hash], A.getHeads(doc)))
  return { title: then.title, text: then.text, titleNow: now.title, removed, added }
}
