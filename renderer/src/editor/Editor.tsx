/** The Markdown editor: CodeMirror 6 bound to the document's replica, with teammates' cursors. */
import { useEffect, useRef } from 'react'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { openSearchPanel } from '@codemirror/search'
import { automergeSyncPlugin } from '@automerge/automerge-codemirror'
import { baseExtensions } from './extensions.ts'
import { remoteCursors, setRemoteCursors, type RemoteCursor } from './remote-cursors.ts'
import type { Cursor } from '../../../shared/types.ts'
import { fromCursors, type Selection } from './cursors.ts'
import type { DocReplica } from './replica.ts'
import { frameScheduler } from './scheduler.ts'
import { hideSince, sinceReadMarks } from './since-read.ts'
import { FIND_EVENT } from '../lib/commands.ts'
import { colourFor, selectionColourFor } from '../lib/colour.ts'

/** A teammate whose selection is in this document. */
export interface TeammateCursor {
  deviceId: string
  name: string
  cursor: Cursor
}

interface EditorProps {
  replica: DocReplica
  readOnly: boolean
  teammates: readonly TeammateCursor[]
  /** Called when the local selection moves or the text changes under it. */
  onSelection: (sel: Selection) => void
  autoFocus?: boolean
  /** Select this range and bring it into view (a search hit); `seq` changes each time it is asked. */
  reveal?: { at: number; length: number; seq: number } | null
  /** What changed since this device last read the document, marked (changedSince); false hides the marks. */
  since?: { inserted: [number, number][]; deletedAt: number[] } | null
  showSince?: boolean
}

function resolve(teammates: readonly TeammateCursor[], replica: DocReplica): RemoteCursor[] {
  const out: RemoteCursor[] = []
  for (const t of teammates) {
    const at = fromCursors(replica.doc(), t.cursor)
    if (!at) continue
    out.push({ deviceId: t.deviceId, name: t.name, colour: colourFor(t.deviceId), selectionColour: selectionColourFor(t.deviceId), ...at })
  }
  return out
}

export function Editor({ replica, readOnly, teammates, onSelection, autoFocus, reveal, since, showSince = true }: EditorProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<EditorView | null>(null)
  const teammatesRef = useRef(teammates)
  const onSelectionRef = useRef(onSelection)
  const refresh = useRef<() => void>(() => {})
  onSelectionRef.current = onSelection

  // Teammates' cursors changed: keep them for the next push and ask for one. Declared before the
  // view's effect, so a view created in the same commit already pushes these.
  useEffect(() => {
    teammatesRef.current = teammates
    refresh.current()
  }, [teammates])

  // biome-ignore lint/correctness/useExhaustiveDependencies: the since-read marks are made with the view (hiding them is the effect below)
  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: replica.text(),
        extensions: [
          baseExtensions({ readOnly, label: 'Document text' }),
          automergeSyncPlugin({ handle: replica, path: ['text'] }),
          remoteCursors(),
          since && showSince ? sinceReadMarks(since, replica.text().length) : [],
          EditorView.updateListener.of((u) => {
            // Also on focus, so teammates see where this caret is as soon as the editor is in use.
            // A teammate's edit maps the selection too (selectionSet): the view sends only a cursor that moved.
            if (u.selectionSet || (u.focusChanged && u.view.hasFocus)) {
              const { anchor, head } = u.state.selection.main
              onSelectionRef.current({ anchor, head })
            }
          }),
        ],
      }),
    })
    view.current = v
    // Cursors are resolved against the replica, which the sync plugin keeps equal to the editor's
    // text; the refresh waits a frame so it never dispatches inside the editor's own update.
    let scheduled = false
    const push = (): void => {
      scheduled = false
      if (view.current !== v || replica.text().length !== v.state.doc.length) return
      v.dispatch({ effects: setRemoteCursors.of(resolve(teammatesRef.current, replica)) })
    }
    refresh.current = () => {
      if (scheduled) return
      scheduled = true
      frameScheduler(push)
    }
    const off = replica.listen('change', refresh.current)
    push()
    if (autoFocus) v.focus()
    const find = (): void => {
      openSearchPanel(v)
    }
    window.addEventListener(FIND_EVENT, find)
    return () => {
      window.removeEventListener(FIND_EVENT, find)
      off()
      view.current = null
      v.destroy()
    }
  }, [replica, readOnly, autoFocus])

  useEffect(() => {
    if (!showSince) view.current?.dispatch({ effects: hideSince.of(null) })
  }, [showSince])

  // A search hit to show: selected, in view, and the editor focused (clamped: the text may have changed since).
  useEffect(() => {
    const v = view.current
    if (!v || !reveal) return
    const size = v.state.doc.length
    const from = Math.min(reveal.at, size)
    const to = Math.min(from + reveal.length, size)
    v.dispatch({ selection: { anchor: from, head: to }, effects: EditorView.scrollIntoView(from, { y: 'center' }) })
    v.focus()
  }, [reveal])

  return <div ref={host} className="editor" data-testid="editor" />
}
