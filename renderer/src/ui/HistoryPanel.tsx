/**
 * A document's history: its editing sessions by day (who, when in your time and theirs, +/− characters),
 * and the version a session ended on, read only with what changed since marked, to copy text from or to
 * restore. The timeline comes from the peer (`doc.history`), current with every change that arrives.
 */
import { useCallback, useEffect, useMemo, useState } from 'react'
import type { DocVersion, HistorySession } from '../../../shared/types.ts'
import { sessionChanges, sessionTime } from '../../../shared/history-text.ts'
import { MAX_HISTORY_SESSIONS } from '../../../shared/limits.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow, usePeerQuery } from '../data/hooks.ts'
import type { loadEditor } from '../editor/load.ts'
import { colourFor, initials } from '../lib/colour.ts'
import { knownOffset } from '../lib/offsets.ts'
import { dateFormat } from '../lib/format.ts'
import { HISTORY_EVENT } from '../lib/commands.ts'
import { shortcutLabel } from '../lib/platform.ts'
import { ConfirmDialog } from './ConfirmDialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'

type EditorModule = Awaited<ReturnType<typeof loadEditor>>

const time = (at: number): string => dateFormat({ hour: '2-digit', minute: '2-digit' }).format(at)

/** "Today", "Yesterday", or the date. */
function dayOf(at: number, now: number): string {
  const d = new Date(at)
  const today = new Date(now)
  if (d.toDateString() === today.toDateString()) return 'Today'
  if (d.toDateString() === new Date(now - 86_400_000).toDateString()) return 'Yesterday'
  return dateFormat({
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    ...(d.getFullYear() === today.getFullYear() ? {} : { year: 'numeric' }),
  }).format(d)
}

/** The history beside a document or board, and the version shown in its place (null: the document as it is). */
export type HistoryState = { version: string | null } | null

/**
 * Whether the history is open, and which version shows: the history command (menu, shortcut, palette)
 * opens or closes it; another document starts without it.
 */
export function useHistoryState(docId: string): [HistoryState, (h: HistoryState) => void, () => void] {
  const [history, setHistory] = useState<HistoryState>(null)
  const toggle = useCallback(() => setHistory((h) => (h ? null : { version: null })), [])
  // biome-ignore lint/correctness/useExhaustiveDependencies: docId is the reset trigger: a new document closes the history
  useEffect(() => {
    setHistory(null)
    window.addEventListener(HISTORY_EVENT, toggle)
    return () => window.removeEventListener(HISTORY_EVENT, toggle)
  }, [docId, toggle])
  return [history, setHistory, toggle]
}

/** The header's History button. */
export function HistoryButton({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      className="link-like"
      aria-pressed={open}
      title={`Who changed what, and earlier versions (${shortcutLabel('Mod+Shift+H')})`}
      onClick={onToggle}
      data-testid="history-button"
    >
      History
    </button>
  )
}

export interface HistoryPanelProps {
  docId: string
  /** The version shown, if any (its hash). */
  selected: string | null
  onSelect: (version: string | null) => void
  onClose: () => void
}

/** The timeline, beside the document. */
export function HistoryPanel({ docId, selected, onSelect, onClose }: HistoryPanelProps) {
  const client = useClient()
  const now = useNow()
  const [older, setOlder] = useState<HistorySession[]>([])
  const [olderMore, setOlderMore] = useState(false)
  const history = usePeerQuery(() => client.request('doc.history', { docId }), [docId], {
    refreshOn: (e) => e.type === 'doc.sync' && e.docId === docId,
  })
  const loadOlder = useAction(async () => {
    const all = [...(history.data?.sessions ?? []), ...older]
    const page = await client.request('doc.history', { docId, before: all.at(-1)!.endedAt, limit: MAX_HISTORY_SESSIONS })
    setOlder((o) => [...o, ...page.sessions])
    setOlderMore(page.more)
  })
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new document starts a new list
  useEffect(() => setOlder([]), [docId])
  const sessions = useMemo(() => [...(history.data?.sessions ?? []), ...older], [history.data, older])
  const more = older.length ? olderMore : (history.data?.more ?? false)
  const ownOffset = -new Date(now).getTimezoneOffset() || 0
  const days = useMemo(() => {
    const out: { day: string; sessions: HistorySession[] }[] = []
    for (const s of sessions) {
      const day = dayOf(s.endedAt, now)
      if (out.at(-1)?.day === day) out.at(-1)!.sessions.push(s)
      else out.push({ day, sessions: [s] })
    }
    return out
  }, [sessions, now])

  return (
    <aside className="history-panel" data-testid="history-panel" aria-label="History">
      <header className="history-head">
        <h2>History</h2>
        <button type="button" className="link-like" onClick={onClose} data-testid="history-close">
          Close
        </button>
      </header>
      <ErrorText error={history.error ?? loadOlder.error} />
      {!history.data && !history.error && <Progress label="Reading the history…" />}
      {history.data && sessions.length === 0 && <p className="muted">Nothing here yet: the history begins with the next edit.</p>}
      <ol className="history-days">
        {days.map((d) => (
          <li key={d.day}>
            <h3>{d.day}</h3>
            <ol className="history-sessions">
              {d.sessions.map((s) => (
                <li key={s.version}>
                  <button
                    type="button"
                    className="history-session"
                    data-testid="history-session"
                    data-version={s.version}
                    aria-current={selected === s.version ? 'true' : undefined}
                    onClick={() => onSelect(selected === s.version ? null : s.version)}
                  >
                    <span className="avatar" style={{ backgroundColor: colourFor(s.authorId || s.authorName) }} aria-hidden="true">
                      {initials(s.own ? 'You' : s.authorName)}
                    </span>
                    <span className="history-who">{s.own ? 'You' : s.authorName}</span>
                    <span className="history-when">
                      {sessionTime({ ...s, authorUtcOffsetMinutes: s.authorUtcOffsetMinutes ?? knownOffset(s.authorId) }, time, ownOffset)}
                    </span>
                    <span className="history-what">{sessionChanges(s)}</span>
                  </button>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
      {more && (
        <button type="button" onClick={() => void loadOlder.run()} disabled={loadOlder.busy}>
          {loadOlder.busy ? 'Loading…' : 'Show older sessions'}
        </button>
      )}
    </aside>
  )
}

export interface VersionViewProps {
  docId: string
  version: string
  canWrite: boolean
  /** A board's version: read as the board's text, and never restored (the peer refuses it). */
  board?: boolean
  mod: EditorModule
  onRestored: () => void
  onClose: () => void
}

/** One version, read only, in place of the editor: what it said, what changed since, restore or copy. */
export function VersionView({ docId, version, canWrite, board = false, mod, onRestored, onClose }: VersionViewProps) {
  const client = useClient()
  const now = useNow()
  const v = usePeerQuery(() => client.request('doc.version', { docId, version }), [docId, version])
  const [confirming, setConfirming] = useState(false)
  const [copied, setCopied] = useState(false)
  const copy = useAction(async (text: string) => {
    await navigator.clipboard.writeText(text)
    setCopied(true)
  })
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) onClose()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])
  // biome-ignore lint/correctness/useExhaustiveDependencies: "copied" is about the version it was said of
  useEffect(() => setCopied(false), [version])
  const data: DocVersion | undefined = v.data
  const { VersionText } = mod
  return (
    <section className="version-view" data-testid="version-view" aria-label="An earlier version">
      <div className="version-bar">
        <div className="version-about">
          {data ? (
            <>
              <strong data-testid="version-title">
                {data.session
                  ? `${data.session.own ? 'Your' : `${data.session.authorName}’s`} version, ${sessionTime(
                      data.session,
                      (at) => `${dayOf(at, now).replace(/^(Today|Yesterday)$/, (w) => w.toLowerCase())} ${time(at)}`,
                      -new Date(now).getTimezoneOffset() || 0,
                    )}`
                  : 'An earlier version'}
              </strong>
              {data.title !== data.titleNow && <span className="muted"> · titled “{data.title || 'Untitled'}” then</span>}
              <span className="version-legend muted">
                {' · '}
                <del>struck</del>: gone since · <ins>underlined</ins>: added since
              </span>
            </>
          ) : (
            <Progress label="Reading this version…" />
          )}
        </div>
        <div className="row">
          {data && (
            <button type="button" onClick={() => void copy.run(data.text)} data-testid="version-copy">
              {copied ? 'Copied' : 'Copy text'}
            </button>
          )}
          {data && canWrite && !board && (
            <button type="button" className="primary" onClick={() => setConfirming(true)} data-testid="version-restore">
              Restore this version
            </button>
          )}
          <button type="button" onClick={onClose} data-testid="version-close">
            {board ? 'Back to the board' : 'Back to the document'}
          </button>
        </div>
      </div>
      <ErrorText error={v.error ?? copy.error} />
      {data && <VersionText version={data} />}
      {confirming && data && (
        <ConfirmDialog
          title="Restore this version?"
          message={`The title and text become those of this version again, for everyone.`}
          note="Nothing is lost: the text as it is now stays in the history, and you can restore it the same way."
          confirmLabel="Restore"
          onConfirm={async () => {
            await client.request('doc.restore', { docId, version: data.version })
            onRestored()
          }}
          onClose={() => setConfirming(false)}
        />
      )}
    </section>
  )
}
