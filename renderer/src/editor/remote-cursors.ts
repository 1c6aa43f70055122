/**
 * Teammates' carets and selections: a coloured caret with their name above it, and a translucent
 * highlight over what they have selected. Positions are given already resolved (see cursors.ts);
 * between updates they move with local edits.
 *
 * They are drawn in layers of their own over and under the text (CodeMirror's `layer`, as its own
 * cursor and selection are), not as widgets and marks inside it: the editable content holds only the
 * text, so a teammate's caret moving redraws one positioned element instead of the line's DOM, and
 * typing, selecting or composing beside it meets no uneditable element (CodeMirror wrapped each caret
 * widget in hidden buffer elements for the browsers' sake). In W1b's pages it made no difference to
 * the CPU a keystroke costs (bench/results/latest.md, session 37).
 */
import { EditorSelection, type EditorState, StateEffect, StateField } from '@codemirror/state'
import { EditorView, type LayerMarker, layer, RectangleMarker, type ViewUpdate } from '@codemirror/view'

export interface RemoteCursor {
  deviceId: string
  name: string
  colour: string
  selectionColour: string
  anchor: number
  head: number
}

export const setRemoteCursors = StateEffect.define<RemoteCursor[]>()

/** The cursors shown, in the text now: set by `setRemoteCursors`, moved by every edit since. */
const remoteCursorField = StateField.define<readonly RemoteCursor[]>({
  create: () => [],
  update(cursors, tr) {
    let placed: readonly RemoteCursor[] | null = null
    for (const e of tr.effects) if (e.is(setRemoteCursors)) placed = e.value
    if (placed) return clamp(placed, tr.state.doc.length)
    if (!tr.docChanged || cursors.length === 0) return cursors
    return cursors.map((c) => {
      // A caret stays after what is typed where it stands; a selection does not grow at its edges.
      if (c.anchor === c.head) {
        const at = tr.changes.mapPos(c.head, 1)
        return { ...c, anchor: at, head: at }
      }
      const forward = c.anchor < c.head
      return {
        ...c,
        anchor: tr.changes.mapPos(c.anchor, forward ? 1 : -1),
        head: tr.changes.mapPos(c.head, forward ? -1 : 1),
      }
    })
  },
})

/** The teammates' cursors shown in `state`, in its text. */
export function shownCursors(state: EditorState): readonly RemoteCursor[] {
  return state.field(remoteCursorField, false) ?? []
}

function clamp(cursors: readonly RemoteCursor[], length: number): RemoteCursor[] {
  const within = (x: number): number => Math.min(Math.max(x, 0), length)
  return cursors.map((c) => ({ ...c, anchor: within(c.anchor), head: within(c.head) }))
}

/** One of a teammate's rectangles: their caret, with their name above it, or a piece of their selection. */
class TeammateMarker implements LayerMarker {
  readonly rect: RectangleMarker
  readonly cursor: RemoteCursor
  readonly caret: boolean
  constructor(rect: RectangleMarker, cursor: RemoteCursor, caret: boolean) {
    this.rect = rect
    this.cursor = cursor
    this.caret = caret
  }

  draw(): HTMLElement {
    const el = this.rect.draw()
    if (!this.caret) {
      el.style.backgroundColor = this.cursor.selectionColour
      return el
    }
    el.dataset['testid'] = 'remote-cursor'
    el.dataset['device'] = this.cursor.deviceId
    el.style.borderLeftColor = this.cursor.colour
    const label = document.createElement('span')
    label.className = 'cm-remote-label'
    label.textContent = this.cursor.name
    label.style.backgroundColor = this.cursor.colour
    el.append(label)
    return el
  }

  /** Moved in place when only its position changed. */
  update(el: HTMLElement, prev: LayerMarker): boolean {
    return prev instanceof TeammateMarker && this.sameLook(prev) && this.rect.update(el, prev.rect)
  }

  eq(other: LayerMarker): boolean {
    return other instanceof TeammateMarker && this.sameLook(other) && this.rect.eq(other.rect)
  }

  private sameLook(other: TeammateMarker): boolean {
    const a = this.cursor
    const b = other.cursor
    return (
      this.caret === other.caret &&
      a.deviceId === b.deviceId &&
      a.name === b.name &&
      a.colour === b.colour &&
      a.selectionColour === b.selectionColour
    )
  }
}

/** Whether the layers must be measured again: the text, the viewport or the cursors changed. */
const moved = (u: ViewUpdate): boolean =>
  u.docChanged || u.viewportChanged || u.startState.field(remoteCursorField) !== u.state.field(remoteCursorField)

/** Teammates' carets over the text (`carets`), or their selections under it, as the editor draws its own. */
function teammatesLayer(carets: boolean) {
  return layer({
    above: carets,
    class: carets ? 'cm-remote-carets' : 'cm-remote-selections',
    update: moved,
    markers(view) {
      const out: LayerMarker[] = []
      for (const c of view.state.field(remoteCursorField)) {
        const range = carets ? EditorSelection.cursor(c.head, 1) : c.anchor === c.head ? null : EditorSelection.range(c.anchor, c.head)
        if (!range) continue
        for (const r of RectangleMarker.forRange(view, carets ? 'cm-remote-caret' : 'cm-remote-selection', range))
          out.push(new TeammateMarker(r, c, carets))
      }
      return out
    },
  })
}

const remoteCursorTheme = EditorView.baseTheme({
  '.cm-remote-caret': {
    borderLeft: '2px solid',
    marginLeft: '-1px',
    pointerEvents: 'none',
  },
  '.cm-remote-selection': {
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
  },
})

export function remoteCursors() {
  return [remoteCursorField, teammatesLayer(false), teammatesLayer(true), remoteCursorTheme]
}
