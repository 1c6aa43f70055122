/**
 * What changed in the document since this device last read it, marked in the editor: text new since then
 * highlighted, and a small mark where text was deleted (found in the editor's worker: since-marks.ts). The
 * marks move with edits, and go when the person hides them.
 */
import { StateEffect, StateField, type Extension, type Range } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView, WidgetType } from '@codemirror/view'
import type { SinceMarks } from './since-marks.ts'

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
export function sinceReadMarks(changes: SinceMarks, length: number): Extension {
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
