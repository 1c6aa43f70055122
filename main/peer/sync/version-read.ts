/** A version of a document for `doc.version`: its title and text then, marked against now (shared/version-marks.ts). */
import * as A from '@automerge/automerge'
import { versionMarks, type VersionMarks } from '../../../shared/version-marks.ts'
import { readContent, type GDoc } from './doc-content.ts'

/** The document at `hash` (its causal past), read only, with what changed since marked on its text. */
export function readVersion(
  doc: GDoc,
  hash: string,
): { title: string; text: string; titleNow: string } & Pick<VersionMarks, 'removed' | 'added'> {
  const then = readContent(A.view(doc, [hash]))
  const { removed, added } = versionMarks(then.text.length, A.diff(doc, [hash], A.getHeads(doc)))
  return { title: then.title, text: then.text, titleNow: readContent(doc).title, removed, added }
}
