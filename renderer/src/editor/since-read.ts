/**
 * What changed in the document since this device last read it, marked in the editor: text new since then
 * highlighted, and a small mark where text was deleted. From the heads the peer kept with the read mark
 * (`doc.open`'s readHeads) and Automerge's patches from them to now (shared/version-marks.ts). The marks
 * move with edits, and go when the person hides them.
 */
import * as A from '@automerge/automerge'
import { StateEffect, StateField, type Extension, type Range } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView, WidgetType } from '@codemirror/view'
import type { DocContent } from '../../../shared/doc-content.ts'
import { versionMarks } from '../../../shared/version-marks.ts'

/** Where text is new since the heads read, and where text was deleted, in the text now (null: nothing changed, or unknown). */
export function changedSince(
  doc: A.Doc<DocContent>,
  readHeads: string[] | null,
): { inserted: [number, number][]; deletedAt: number[] } | null {
  if (!readHeads || readHeads.length === 0 || !A.hasHeads(doc, readHeads)) return null
  const now = A.getHeads(doc)
  if (now.length === readHeads.length && now.every((h) => readHeads.includes(h))) return null
  const before = A.view(doc, readHeads).text
  const marks = versionMarks(typeof before === 'string' ? before.length : 0, A.diff(doc, readHeads, now))
  if (marks.inserted.length === 0 && marks.deletedAt.length === 0) return null
  return { inserted: marks.inserted, deletedAt: marks.deletedAt }
}

class Deleted extends WidgetType {
  toDOM(): HTMLElement {
    const el = document.createElement('span')
    el.className = 'cm-deleted-since'
    el.title = 'Text was deleted here since you last read this'
    el.setAttribute('aria-label', 'deleted since you last read')
    return el
  }
  override eq(): boolean {
    return true
  }
}

const newMark = Decoration.mark({ class: 'cm-new-since', attributes: { title: 'New since you last read this' } })

/** Hides the marks. */
export const hideSince = StateEffect.define<null>()

/** The marks of `changes` on a text of `length` characters, kept through edits until hidden. */
export function sinceReadMarks(changes: { inserted: [number, number][]; deletedAt: number[] }, length: number): Extension {
  const ranges: Range<Decoration>[] = []
  for (const [from, to] of changes.inserted) if (from < to && to <= length) ranges.push(newMark.range(from, to))
  for (const at of changes.deletedAt) if (at <= length) ranges.push(Decoration.widget({ widget: new Deleted(), side: 1 }).range(at))
  const initial = Decoration.set(ranges, true)
  return StateField.define<DecorationSet>({
    create: () => initial,
    update: (set, tr) => (tr.effects.some((e) => e.is(hideSince)) ? Decoration.none : set.map(tr.changes)),
    provide: (f) => EditorView.decorations.from(f),
  })
}
