/**
 * What changed in a document since this device last read it: from the heads the peer kept with the read
 * mark (`doc.open`'s readHeads) and Automerge's patches from them to now (shared/version-marks.ts).
 * Found in the editor's worker, where the replica is; the editor marks them (since-read.ts).
 */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'
import { versionMarks } from '../../../shared/version-marks.ts'

/** Where text is new (ranges) and where text was deleted (positions), in the text now. */
export interface SinceMarks {
  inserted: [number, number][]
  deletedAt: number[]
}

/** Where text is new since the heads read, and where text was deleted, in the text now (null: nothing changed, or unknown). */
export function changedSince(doc: A.Doc<DocContent>, readHeads: string[] | null): SinceMarks | null {
  if (!readHeads || readHeads.length === 0 || !A.hasHeads(doc, readHeads)) return null
  const now = A.getHeads(doc)
  if (now.length === readHeads.length && now.every((h) => readHeads.includes(h))) return null
  const before = A.view(doc, readHeads).text
  const marks = versionMarks(typeof before === 'string' ? before.length : 0, A.diff(doc, readHeads, now))
  if (marks.inserted.length === 0 && marks.deletedAt.length === 0) return null
  return { inserted: marks.inserted, deletedAt: marks.deletedAt }
}
