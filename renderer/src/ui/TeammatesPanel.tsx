/**
 * Who is in the workspace: their role, online now, which document they are in, last seen, their
 * local time, and who has the workspace's content key (who is still waiting for it). Admins can
 * change another member's role or remove them (never the owner), after a confirmation that says what
 * removal does and does not do; the removal's new key and who has it yet show at the top.
 */
import { useState } from 'react'
import type { DocumentSummary, MemberInfo, PresenceInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { receiptText } from '../../../shared/receipt-text.ts'
import { useAction, useNow, useSyncStatus } from '../data/hooks.ts'
import { colourFor, initials } from '../lib/colour.ts'
import { ago, clockTime, sentence, theirLocalTime, utcOffsetLabel } from '../lib/format.ts'
import { canManage, type GivenRole, ROLE_HINT, ROLE_LABEL, removalQuestion, roleChoices } from '../lib/membership.ts'
import { knownOffset } from '../lib/offsets.ts'
import { ConfirmDialog } from './ConfirmDialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { KeyStatusLine, useKeyStatus } from './KeyStatusLine.tsx'
import { displayTitle } from '../lib/format.ts'

export interface TeammatesPanelProps {
  workspace: WorkspaceInfo
  members: MemberInfo[] | undefined
  presence: ReadonlyMap<string, PresenceInfo>
  docs: DocumentSummary[] | undefined
  onOpenDoc: (docId: string) => void
  /** The document open here: each teammate's line says which of your edits of it they have. */
  openDocId: string | null
  /** A member's role changed or a member was removed here: load the members again. */
  onChanged: () => void
}

export function TeammatesPanel({ workspace, members, presence, docs, onOpenDoc, openDocId, onChanged }: TeammatesPanelProps) {
  const client = useClient()
  const now = useNow(20_000)
  // The same status the document's status line shows (one request for both).
  const status = useSyncStatus(openDocId && workspace.role !== 'keeper' ? openDocId : null)
  const receipts = new Map((status.data?.receipts ?? []).map((r) => [r.deviceId, r]))
  const [managing, setManaging] = useState<string | null>(null)
  const [removing, setRemoving] = useState<MemberInfo | null>(null)
  const keys = useKeyStatus(workspace.id, members)
  const titles = new Map((docs ?? []).map((d) => [d.id, displayTitle(d.title)]))
  const sorted = [...(members ?? [])].sort(
    (a, b) => Number(b.self) - Number(a.self) || Number(b.online) - Number(a.online) || a.name.localeCompare(b.name),
  )
  const question = removing ? removalQuestion(removing.name, workspace.name) : null
  return (
    <aside className="teammates" aria-labelledby="teammates-title" data-testid="teammates">
      <h2 id="teammates-title" className="panel-title">
        Teammates
      </h2>
      <KeyStatusLine status={keys.status} />
      <ul className="member-list">
        {sorted.map((m) => {
          const p = presence.get(m.deviceId)
          const docId = p?.docId ?? null
          const offset = p?.utcOffsetMinutes ?? knownOffset(m.deviceId)
          const manageable = canManage(workspace.role, m)
          const open = manageable && managing === m.deviceId
          const actionsId = `member-actions-${m.deviceId}`
          return (
            <li
              key={m.deviceId}
              className={`member ${open ? 'managing' : ''}`}
              data-testid="teammate"
              data-device={m.deviceId}
              data-online={m.online}
              data-role={m.role}
              data-key={m.key}
            >
              <span className="avatar" style={{ backgroundColor: colourFor(m.deviceId) }} aria-hidden="true">
                {initials(m.name)}
              </span>
              <div className="member-body">
                <div className="member-name">
                  <span className="member-name-text" data-testid="teammate-name">
                    {m.name}
                  </span>
                  {m.self && <span className="muted"> (you)</span>}
                  <span className={`presence-dot ${m.online ? 'on' : 'off'}`} role="img" aria-label={m.online ? 'online' : 'offline'} />
                  {manageable && (
                    <button
                      type="button"
                      id={`manage-${m.deviceId}`}
                      className="icon-button member-menu"
                      aria-label={`Manage ${m.name}`}
                      title={`Change ${m.name}’s role or remove them`}
                      aria-expanded={open}
                      aria-controls={open ? actionsId : undefined}
                      onClick={() => setManaging(open ? null : m.deviceId)}
                      data-testid="teammate-manage"
                    >
                      <span aria-hidden="true">⋯</span>
                    </button>
                  )}
                </div>
                <div className="member-meta muted">
                  <span className={`role-badge role-${m.role}`} title={ROLE_HINT[m.role]} data-testid="teammate-role">
                    {ROLE_LABEL[m.role]}
                  </span>
                  {m.key === 'waiting' && (
                    <>
                      {' · '}
                      <span
                        className="key-badge"
                        title={`${m.self ? 'This device has' : `${m.name} has`} not shown yet that it holds the workspace’s current key`}
                        data-testid="teammate-key"
                      >
                        waiting for key
                      </span>
                    </>
                  )}
                  {!m.self && <> · {m.online ? 'Online now' : `Last seen ${ago(m.lastSeen, now)}`}</>}
                  {!m.self && offset !== null && (
                    <span title={utcOffsetLabel(offset)} data-testid="teammate-time">
                      {' '}
                      · {theirLocalTime(offset, now)} their time
                    </span>
                  )}
                </div>
                {open && (
                  <MemberActions
                    id={actionsId}
                    workspace={workspace}
                    member={m}
                    onChanged={onChanged}
                    onRemove={() => setRemoving(m)}
                    onDone={() => {
                      setManaging(null)
                      document.getElementById(`manage-${m.deviceId}`)?.focus()
                    }}
                  />
                )}
                {!m.self && receipts.has(m.deviceId) && (
                  <div className="member-receipt muted" data-testid="teammate-receipt">
                    {sentence(
                      receiptText(
                        { ...receipts.get(m.deviceId)!, utcOffsetMinutes: offset },
                        status.data?.lastOwnEditAt ?? null,
                        (at) => clockTime(at, now),
                        -new Date(now).getTimezoneOffset(),
                      ),
                    )}
                  </div>
                )}
                {!m.self && docId && m.online && (
                  <button type="button" className="link-button member-doc" onClick={() => onOpenDoc(docId)} data-testid="teammate-doc">
                    In “{titles.get(docId) ?? 'a document'}”
                  </button>
                )}
              </div>
            </li>
          )
        })}
      </ul>
      {removing && question && (
        <ConfirmDialog
          title={question.title}
          message={question.message}
          note={question.note}
          confirmLabel={`Remove ${removing.name}`}
          onConfirm={async () => {
            const removed = await client.request('member.remove', { workspaceId: workspace.id, deviceId: removing.deviceId })
            keys.set(removed.keys)
            setManaging(null)
            onChanged()
          }}
          onClose={() => setRemoving(null)}
        />
      )}
    </aside>
  )
}

interface MemberActionsProps {
  id: string
  workspace: WorkspaceInfo
  member: MemberInfo
  onChanged: () => void
  onRemove: () => void
  onDone: () => void
}

/** A member's role (one button per role that may be given) and Remove. Escape closes it. */
function MemberActions({ id, workspace, member, onChanged, onRemove, onDone }: MemberActionsProps) {
  const client = useClient()
  const setRole = useAction(async (role: GivenRole) => {
    await client.request('member.setRole', { workspaceId: workspace.id, deviceId: member.deviceId, role })
    onChanged()
  })
  const choices = roleChoices(workspace.role, member)
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Escape here closes this group of buttons; its controls are the buttons inside
    <div
      id={id}
      className="member-actions"
      data-testid="teammate-actions"
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return
        e.stopPropagation()
        onDone()
      }}
    >
      <fieldset className="segmented">
        <legend className="visually-hidden">{member.name}’s role</legend>
        {choices.map((c) => (
          <button
            key={c.role}
            type="button"
            className="small"
            aria-pressed={c.current}
            disabled={setRole.busy || !c.allowed}
            title={c.reason ?? `${ROLE_LABEL[c.role]}: ${ROLE_HINT[c.role]}`}
            onClick={() => {
              if (!c.current) void setRole.run(c.role)
            }}
            data-testid={`set-role-${c.role}`}
          >
            {ROLE_LABEL[c.role]}
          </button>
        ))}
      </fieldset>
      <p className="muted member-role-hint">
        {ROLE_LABEL[member.role]}: {ROLE_HINT[member.role]}.
      </p>
      <button type="button" className="small danger" onClick={onRemove} data-testid="teammate-remove">
        Remove from {workspace.name}…
      </button>
      <ErrorText error={setRole.error} onDismiss={setRole.clearError} />
    </div>
  )
}
