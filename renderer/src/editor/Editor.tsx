/** The Markdown editor: CodeMirror 6 bound to the document's replica (in the editor's worker), with teammates' cursors. */
import { useEffect, useRef } from 'react'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { openSearchPanel } from '@codemirror/search'
import { baseExtensions } from './extensions.ts'
import { remoteCursors, setRemoteCursors, type RemoteCursor } from './remote-cursors.ts'
import type { Cursor } from '../../../shared/types.ts'
import type { Selection } from './cursors.ts'
import type { EditorReplica } from './replica-link.ts'
import type { Placed } from './replica-messages.ts'
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
  replica: EditorReplica
  readOnly: boolean
  teammates: readonly TeammateCursor[]
  /** Called when the local selection moves or the text changes under it. */
  onSelection: (sel: Selection) => void
  autoFocus?: boolean
  /** Select this range and bring it into view (a search hit); `seq` changes each time it is asked. */
  reveal?: { at: number; length: number; seq: number } | null
  /** Whether to mark what changed since this device last read the document (the replica's `since`). */
  showSince?: boolean
}

function shown(placed: readonly Placed[], teammates: readonly TeammateCursor[]): RemoteCursor[] {
  const out: RemoteCursor[] = []
  for (const p of placed) {
    const t = teammates.find((x) => x.deviceId === p.deviceId)
    if (t) out.push({ ...p, name: t.name, colour: colourFor(p.deviceId), selectionColour: selectionColourFor(p.deviceId) })
  }
  return out
}

export function Editor({ replica, readOnly, teammates, onSelection, autoFocus, reveal, showSince = true }: EditorProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<EditorView | null>(null)
  const teammatesRef = useRef(teammates)
  const onSelectionRef = useRef(onSelection)
  onSelectionRef.current = onSelection

  // Teammates' cursors are resolved in the worker (their Automerge cursors), which answers with
  // positions now and after every change (the 'teammates' event, below). A new view asks for them
  // itself (the effect below), so this one asks only when they change under an existing view.
  useEffect(() => {
    teammatesRef.current = teammates
    if (view.current) replica.setTeammates(teammates.map((t) => ({ deviceId: t.deviceId, cursor: t.cursor })))
  }, [replica, teammates])

  // biome-ignore lint/correctness/useExhaustiveDependencies: the since-read marks are made with the view (hiding them is the effect below)
  useEffect(() => {
    const since = replica.since()
    const v = new EditorView({
      parent: host.current!,
      // Typed edits go to the worker before the view applies them (EditorReplica.dispatch).
      dispatchTransactions: (trs, view) => replica.dispatch(trs, view),
      state: EditorState.create({
        doc: replica.text(),
        extensions: [
          baseExtensions({ readOnly, label: 'Document text' }),
          replica.binding(),
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
    // Placed in this text by the replica, in a transaction of its own or with a teammate's edit.
    const off = replica.showTeammates((placed) => [setRemoteCursors.of(shown(placed, teammatesRef.current))])
    replica.setTeammates(teammatesRef.current.map((t) => ({ deviceId: t.deviceId, cursor: t.cursor })))
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
