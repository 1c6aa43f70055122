/**
 * "While you were away": one digest of the workspace since this device last read each document: who
 * changed which documents and how much, new and deleted documents, new members, and the passages two
 * people edited at the same time (both named), since a silent merge is where async teams lose each
 * other's intent. Opening a document shows what changed since in it (the editor marks it). Shown when the
 * app opens after time away (`awayLongEnough`), and from the palette.
 */
import type { WorkspaceDigest } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow, usePeerQuery } from '../data/hooks.ts'
import { ago } from '../lib/format.ts'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'
import { displayTitle } from '../lib/format.ts'

const KEY = 'grapevine.lastActive'
/** Away at least this long, the digest opens by itself when there is something in it. */
const AWAY_MS = 30 * 60_000

/** Remembers that the workspace was in view now (the page calls it while shown). */
export function noteActive(workspaceId: string, now = Date.now()): void {
  try {
    globalThis.localStorage?.setItem(`${KEY}.${workspaceId}`, String(now))
  } catch {
    // storage full or disabled: the digest then opens only from the palette
  }
}

/** Whether the workspace was last in view long enough ago for the digest to open by itself. */
export function awayLongEnough(workspaceId: string, now = Date.now()): boolean {
  const v = Number(globalThis.localStorage?.getItem(`${KEY}.${workspaceId}`) ?? Number.NaN)
  return Number.isFinite(v) && now - v >= AWAY_MS
}

/** "Ben +120 −4, Cat +3 −0" */
function authorsText(d: WorkspaceDigest['documents'][number]): string {
  return d.authors.map((a) => `${a.name} +${a.inserted} −${a.deleted}`).join(', ')
}

export function DigestDialog({
  workspaceId,
  onOpen,
  onClose,
}: {
  workspaceId: string
  /** Opens a document, at `at` when a passage was chosen. */
  onOpen: (docId: string, at: number | null, length: number) => void
  onClose: () => void
}) {
  const client = useClient()
  const now = useNow()
  const digest = usePeerQuery(() => client.request('workspace.digest', { workspaceId }), [workspaceId])
  const markAll = useAction(async () => {
    await client.request('workspace.markAllRead', { workspaceId })
    digest.reload()
  })
  const d = digest.data
  const empty = d && d.documents.length === 0 && d.members.length === 0
  return (
    <Dialog title="While you were away" onClose={onClose} testId="digest-dialog" className="digest-dialog">
      <ErrorText error={digest.error ?? markAll.error} />
      {!d && !digest.error && <Progress label="Looking at what changed…" />}
      {d && <p className="muted">Since you last read each document{d.members.length ? `; members since ${ago(d.since, now)}` : ''}.</p>}
      {empty && <p data-testid="digest-empty">Nothing new: you have read everything your teammates changed.</p>}
      {d && d.documents.length > 0 && (
        <ul className="digest-docs">
          {d.documents.map((doc) => (
            <li key={doc.docId} data-testid="digest-doc" data-doc-id={doc.docId}>
              <button
                type="button"
                className="link-like digest-title"
                onClick={() => {
                  onClose()
                  onOpen(doc.docId, null, 0)
                }}
              >
                {displayTitle(doc.title)}
              </button>
              {doc.created && <span className="badge">new</span>}
              {doc.deleted && <span className="badge">deleted</span>}
              {doc.authors.length > 0 && <span className="digest-authors"> {authorsText(doc)}</span>}
              {doc.passages.map((p) => (
                <button
                  type="button"
                  key={`${p.from}-${p.to}`}
                  className="digest-passage"
                  data-testid="digest-passage"
                  onClick={() => {
                    onClose()
                    onOpen(doc.docId, p.from, p.to - p.from)
                  }}
                >
                  <strong>{p.authors.join(' and ')}</strong> edited this at the same time: <q>{p.excerpt}</q>
                </button>
              ))}
              {!doc.compared && <p className="muted">Too many changes to look for passages edited at the same time.</p>}
            </li>
          ))}
        </ul>
      )}
      {d && d.members.length > 0 && (
        <ul className="digest-members" aria-label="New members">
          {d.members.map((m) => (
            <li key={m.deviceId} data-testid="digest-member">
              {m.name} joined as {m.role}, {ago(m.addedAt, now)}
            </li>
          ))}
        </ul>
      )}
      <div className="row end">
        {d && !empty && (
          <button type="button" onClick={() => void markAll.run()} disabled={markAll.busy} data-testid="digest-mark-all">
            Mark all read
          </button>
        )}
        <button type="button" className="primary" onClick={onClose} data-autofocus>
          Close
        </button>
      </div>
    </Dialog>
  )
}
