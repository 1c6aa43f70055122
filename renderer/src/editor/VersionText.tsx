/**
 * An older version of a document's text, read only (CodeMirror, so it can be searched, selected and
 * copied), with what changed since marked on it: text gone now struck through, text added since shown
 * where it went in. The marks come from the peer (`doc.version`: removed ranges and additions).
 */
import { useEffect, useRef } from 'react'
import { EditorState, type Range } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView, WidgetType } from '@codemirror/view'
import type { DocVersion } from '../../../shared/types.ts'
import { baseExtensions } from './extensions.ts'

/** An addition longer than this shows its start and how much more there is. */
const SHOWN_ADDED_CHARS = 2_000

class Added extends WidgetType {
  readonly text: string
  constructor(text: string) {
    super()
    this.text = text
  }
  override eq(other: Added): boolean {
    return other.text === this.text
  }
  toDOM(): HTMLElement {
    const el = document.createElement('ins')
    el.className = 'cm-added-since'
    el.title = 'Added since this version'
    el.textContent =
      this.text.length > SHOWN_ADDED_CHARS
        ? `${this.text.slice(0, SHOWN_ADDED_CHARS)}… (${this.text.length - SHOWN_ADDED_CHARS} more characters)`
        : this.text
    return el
  }
}

const removedMark = Decoration.mark({ class: 'cm-removed-since', attributes: { title: 'Gone since this version' } })

/** The marks as decorations. */
export function versionDecorations(v: Pick<DocVersion, 'text' | 'removed' | 'added'>): DecorationSet {
  const items: Range<Decoration>[] = []
  const size = v.text.length
  const removedAt = new Map<number, number>()
  for (const [from, to] of v.removed)
    if (from < to && to <= size) {
      items.push(removedMark.range(from, to))
      removedAt.set(from, to)
    }
  // What replaced a removed passage reads after it, as in a marked-up draft: "~~March~~April".
  for (const a of v.added) {
    if (a.at > size || !a.text) continue
    const at = removedAt.get(a.at) ?? a.at
    items.push(Decoration.widget({ widget: new Added(a.text), side: 1 }).range(at))
  }
  return Decoration.set(items, true)
}

export function VersionText({ version }: { version: DocVersion }) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: version.text,
        extensions: [
          baseExtensions({ readOnly: true, label: 'This version’s text' }),
          EditorView.decorations.of(versionDecorations(version)),
        ],
      }),
    })
    return () => v.destroy()
  }, [version])
  return <div ref={host} className="editor version-text" data-testid="version-text" />
}
