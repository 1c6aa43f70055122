/**
 * One open document: its replica (in the editor's worker, which opens it at the peer and closes it
 * when left), the title, the sync status and the editor with teammates' cursors. Marks the document
 * read when it is shown and when teammates' changes arrive while it is shown.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { Cursor, PresenceInfo } from '../../../shared/types.ts'
import { useClient, useSession } from '../data/client-context.tsx'
import { refreshSyncStatus, useAction } from '../data/hooks.ts'
import { loadEditor } from '../editor/load.ts'
import type { Selection } from '../editor/cursors.ts'
import type { EditorReplica } from '../editor/replica-link.ts'
import { colourFor, initials } from '../lib/colour.ts'
import { throttle } from '../../../shared/throttle.ts'
import { ErrorText } from './ErrorText.tsx'
import { HistoryButton, HistoryPanel, useHistoryState, VersionView } from './HistoryPanel.tsx'
import { Progress } from './Progress.tsx'
import { SyncStatus } from './SyncStatus.tsx'
import { TitleField } from './TitleField.tsx'

type EditorModule = Awaited<ReturnType<typeof loadEditor>>

/** Local changes not yet saved are shown as "sending" only once they have waited this long. */
const SHOW_SENDING_AFTER_MS = 250

export interface DocViewProps {
  docId: string
  canWrite: boolean
  /** Teammates' presence in this workspace (this document's are picked out here). */
  presence: readonly PresenceInfo[]
  teammatesOnline: number
  /** This device's selection here, as Automerge cursors (the caller throttles and sends it). */
  onCursor: (docId: string, cursor: Cursor | null) => void
  onRead: (docId: string) => void
  focusTitle: boolean
  /** A search hit to select and show (see Editor). */
  reveal?: { at: number; length: number; seq: number } | null
}

export function DocView(p: DocViewProps) {
  const client = useClient()
  const { self, editor } = useSession()
  const [mod, setMod] = useState<EditorModule | null>(null)
  const [replica, setReplica] = useState<EditorReplica | null>(null)
  const [openError, setOpenError] = useState<unknown>(null)
  const [notice, setNotice] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const [, setHead] = useState('')
  const [unsent, setUnsent] = useState(0)
  const [preview, setPreview] = useState<{ text: string; heavy: boolean } | null>(null)
  /** What changed since this device last read the document (from the heads read, as the peer said at open). */
  const [since, setSince] = useState(false)
  const [showSince, setShowSince] = useState(true)
  const { docId } = p
  /** The history beside the text, and the version shown in place of the editor. */
  const [history, setHistory, toggleHistory] = useHistoryState(docId)
  const onRead = useRef(p.onRead)
  onRead.current = p.onRead
  const onCursorRef = useRef(p.onCursor)
  onCursorRef.current = p.onCursor
  const lastCursor = useRef('')

  // Load the editor bundle, then open the replica; reopen after the peer refused local changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: attempt is the retry trigger, not read here: bumping it (Try again, or the peer refused a change) closes this replica and opens a new one
  useEffect(() => {
    let cancelled = false
    let opened: EditorReplica | null = null
    const offs: (() => void)[] = []
    setReplica(null)
    setOpenError(null)
    setPreview(null)
    // The peer's cached text shows at once while a large document loads into the replica.
    client.request('doc.read', { docId }).then(
      (d) => {
        if (!cancelled) setPreview((p) => p ?? { text: d.text, heavy: false })
      },
      () => {},
    )
    // A large document loads in the editor's worker: the window shows its cached text meanwhile.
    const onLoading = (): void => {
      if (!cancelled) setPreview((p) => ({ text: p?.text ?? '', heavy: true }))
    }
    const markRead = throttle(
      () =>
        void client.request('doc.markRead', { docId }).then(
          () => onRead.current(docId),
          () => {},
        ),
      1000,
    )
    void (async () => {
      try {
        const m = await loadEditor()
        if (cancelled) return
        setMod(() => m)
        const r = await m.editorWorker().open(editor, docId, onLoading)
        if (cancelled) return void r.close()
        opened = r
        // The view shows the title and whether the document is deleted; the editor shows the text
        // itself. So a keystroke or a teammate's edit re-renders the view only when those change.
        const headOf = (): string => `${r.deleted()}\u0000${r.title()}`
        // Not yet saved: "saved" at once, "sending" only once it lasts (an acknowledgement takes a
        // few milliseconds; a status flickering with every keystroke helps no one).
        let unsentTimer: ReturnType<typeof setTimeout> | null = null
        let latestUnsent = 0
        offs.push(
          () => {
            if (unsentTimer) clearTimeout(unsentTimer)
          },
          r.listen('head', () => setHead(headOf())),
          r.listen('sync', () => refreshSyncStatus(client, docId)),
          r.listen('cursor', (cursor) => {
            const key = `${docId} ${JSON.stringify(cursor)}`
            if (key === lastCursor.current) return
            lastCursor.current = key
            onCursorRef.current(docId, cursor)
          }),
          r.listen('unsent', (n) => {
            latestUnsent = n
            if (n === 0) {
              if (unsentTimer) clearTimeout(unsentTimer)
              unsentTimer = null
              setUnsent(0)
            } else
              unsentTimer ??= setTimeout(() => {
                unsentTimer = null
                setUnsent(latestUnsent)
              }, SHOW_SENDING_AFTER_MS)
          }),
          r.listen('remote', () => markRead()),
          r.listen('rejected', (err) => {
            setNotice(err)
            setAttempt((a) => a + 1)
          }),
          // The editor's own session dropped and the worker dialled it again: reopen on it, no notice needed.
          r.listen('reopen', () => setAttempt((a) => a + 1)),
        )
        setSince(r.since() !== null)
        setShowSince(true)
        setReplica(r)
        markRead()
      } catch (err) {
        if (!cancelled) setOpenError(err)
      }
    })()
    return () => {
      cancelled = true
      // Read as it is when left, this person's own edits too: only what comes after is new next time.
      if (opened) markRead()
      markRead.flush()
      for (const off of offs) off()
      void opened?.close()
    }
  }, [client, editor, docId, attempt])

  const rename = useAction(async (title: string) => {
    await client.request('doc.rename', { docId, title })
  })

  const here = useMemo(
    () => p.presence.filter((t) => t.docId === docId && t.deviceId !== self.deviceId),
    [p.presence, docId, self.deviceId],
  )
  const cursors = useMemo(() => here.flatMap((t) => (t.cursor ? [{ deviceId: t.deviceId, name: t.name, cursor: t.cursor }] : [])), [here])
  // The selection becomes Automerge cursors in the worker (answered with the replica's 'cursor'
  // event, above). A cursor is anchored to the text, so a teammate's edit (which the editor maps the
  // selection through) leaves it as it was: only a cursor that really moved is sent.
  const onSelection = useCallback((sel: Selection) => replica?.select(sel), [replica])
  // The title field keeps its props while teammates type (a memo component): it is not updated with every status.
  const renameRun = rename.run
  const onRenameTitle = useCallback((t: string) => renameRun(t).then(() => {}), [renameRun])
  const focusText = useCallback(() => (document.querySelector('.cm-content') as HTMLElement | null)?.focus(), [])

  if (openError) {
    return (
      <main className="doc-view" data-testid="doc-view">
        <ErrorText error={openError} />
        <button type="button" onClick={() => setAttempt((a) => a + 1)}>
          Try again
        </button>
      </main>
    )
  }
  if (!replica || !mod) {
    return (
      <main className="doc-view" data-testid="doc-view" aria-busy="true">
        <div className="doc-loading">
          <Progress label={preview?.heavy ? 'Opening a large document…' : 'Opening the document…'} delayMs={preview?.heavy ? 0 : 300} />
        </div>
        {preview?.heavy && (
          <section className="doc-preview" aria-label="Document text (loading)">
            {preview.text}
          </section>
        )}
      </main>
    )
  }
  const deleted = replica.deleted()
  const readOnly = !p.canWrite || deleted
  const { Editor } = mod
  return (
    <main className="doc-view" data-testid="doc-view" data-doc-id={docId}>
      <header className="doc-head">
        <TitleField title={replica.title()} readOnly={readOnly} focusNow={p.focusTitle} onRename={onRenameTitle} onEnter={focusText} />
        <div className="doc-head-right">
          <ul className="here" aria-label="Teammates in this document">
            {here.map((t) => (
              <li key={t.deviceId} className="avatar" style={{ backgroundColor: colourFor(t.deviceId) }} title={`${t.name} is here`}>
                <span aria-hidden="true">{initials(t.name)}</span>
                <span className="visually-hidden">{t.name}</span>
              </li>
            ))}
          </ul>
          <SyncStatus docId={docId} unsent={unsent} teammatesOnline={p.teammatesOnline} />
          <HistoryButton open={history !== null} onToggle={toggleHistory} />
        </div>
      </header>
      {deleted && (
        <p className="notice" role="status">
          This document was deleted. You can still read it here.
        </p>
      )}
      {!p.canWrite && !deleted && (
        <p className="notice" role="status">
          You can read this workspace but not change it (viewer).
        </p>
      )}
      {since && showSince && !history?.version && (
        <p className="notice since-notice" role="status" data-testid="since-notice">
          What changed since you last read this is highlighted.{' '}
          <button type="button" className="link-like" onClick={() => setShowSince(false)} data-testid="since-hide">
            Hide
          </button>
        </p>
      )}
      <ErrorText
        error={rename.error ?? notice}
        onDismiss={() => {
          rename.clearError()
          setNotice(null)
        }}
      />
      <div className="doc-body">
        {history?.version ? (
          <VersionView
            docId={docId}
            version={history.version}
            canWrite={p.canWrite && !deleted}
            mod={mod}
            onRestored={() => setHistory({ version: null })}
            onClose={() => setHistory({ version: null })}
          />
        ) : (
          <Editor
            replica={replica}
            readOnly={readOnly}
            teammates={cursors}
            onSelection={onSelection}
            autoFocus={!p.focusTitle}
            reveal={p.reveal}
            showSince={showSince}
          />
        )}
        {history && (
          <HistoryPanel
            docId={docId}
            selected={history.version}
            onSelect={(version) => setHistory({ version })}
            onClose={() => setHistory(null)}
          />
        )}
      </div>
    </main>
  )
}
