/**
 * Teammates' carets and selections as CodeMirror decorations: a coloured caret with their name
 * above it, and a translucent highlight over what they have selected. Positions are given already
 * resolved (see cursors.ts); between updates they move with local edits.
 */
import { StateEffect, StateField, type Range } from '@codemirror/state'
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view'

export interface RemoteCursor {
  deviceId: string
  name: string
  colour: string
  selectionColour: string
  anchor: number
  head: number
}

export const setRemoteCursors = StateEffect.define<RemoteCursor[]>()

class CaretWidget extends WidgetType {
  readonly cursor: RemoteCursor
  constructor(cursor: RemoteCursor) {
    super()
    this.cursor = cursor
  }

  override eq(other: CaretWidget): boolean {
    return other.cursor.name === this.cursor.name && other.cursor.colour === this.cursor.colour
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span')
    caret.className = 'cm-remote-caret'
    caret.dataset['testid'] = 'remote-cursor'
    caret.dataset['device'] = this.cursor.deviceId
    caret.style.borderLeftColor = this.cursor.colour
    caret.setAttribute('aria-hidden', 'true')
    const label = document.createElement('span')
    label.className = 'cm-remote-label'
    label.textContent = this.cursor.name
    label.style.backgroundColor = this.cursor.colour
    caret.append(label)
    return caret
  }

  override ignoreEvent(): boolean {
    return true
  }
}

function build(cursors: readonly RemoteCursor[], length: number): DecorationSet {
  const ranges: Range<Decoration>[] = []
  for (const c of cursors) {
    const anchor = Math.min(Math.max(c.anchor, 0), length)
    const head = Math.min(Math.max(c.head, 0), length)
    if (anchor !== head) {
      ranges.push(
        Decoration.mark({
          class: 'cm-remote-selection',
          attributes: { style: `background-color: ${c.selectionColour}` },
        }).range(Math.min(anchor, head), Math.max(anchor, head)),
      )
    }
    ranges.push(Decoration.widget({ widget: new CaretWidget(c), side: 1 }).range(head))
  }
  return Decoration.set(ranges, true)
}

const remoteCursorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = deco.map(tr.changes)
    for (const e of tr.effects) if (e.is(setRemoteCursors)) next = build(e.value, tr.state.doc.length)
    return next
  },
  provide: (f) => EditorView.decorations.from(f),
})

const remoteCursorTheme = EditorView.baseTheme({
  '.cm-remote-caret': {
    position: 'relative',
    borderLeft: '2px solid',
    marginLeft: '-1px',
    marginRight: '-1px',
    pointerEvents: 'none',
  },
  '.cm-remote-label': {
    position: 'absolute',
    bottom: '100%',
    left: '-2px',
    padding: '0 4px',
    borderRadius: '3px 3px 3px 0',
    color: '#fff',
    fontSize: '11px',
    lineHeight: '16px',
    fontFamily: 'system-ui, sans-serif',
    whiteSpace: 'nowrap',
    userSelect: 'none',
    zIndex: '5',
  },
})

export function remoteCursors() {
  return [remoteCursorField, remoteCursorTheme]
}
