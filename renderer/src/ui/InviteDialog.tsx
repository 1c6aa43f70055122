/**
 * Invite a teammate: a one-time code, its grapevine:// link and a QR code of the link, with its
 * expiry. By default the invite asks for approval: when the joiner presents it, their name and
 * safety words show here to compare before accepting. Below: another invite with other settings
 * (role, expiry, without approval), and the open invites of this workspace, each revocable.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import type { DeviceInfo, InviteInfo, InviteSummary, JoinRequestInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow, usePeerQuery } from '../data/hooks.ts'
import { expiresIn } from '../lib/format.ts'
import { type GivenRole, INVITE_TTLS, inviteLine, inviteRoles, openInvites, ROLE_HINT, ROLE_LABEL } from '../lib/membership.ts'
import { CopyField } from './CopyField.tsx'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { JoinRequests } from './JoinRequests.tsx'
import { Progress } from './Progress.tsx'

export interface InviteDialogProps {
  workspace: WorkspaceInfo
  self: DeviceInfo
  requests: JoinRequestInfo[]
  onAnswered: (requestId: string) => void
  onClose: () => void
  /** The invite this dialog showed last time (its code is kept only in memory): shown again while it is open. */
  last: InviteInfo | null
  onCreated: (invite: InviteInfo) => void
}

interface InviteSettings {
  role: GivenRole
  ttlMs: number
  approve: boolean
}

const DEFAULTS: InviteSettings = { role: 'editor', ttlMs: INVITE_TTLS[1]!.ms, approve: true }

export function InviteDialog({ workspace, self, requests, onAnswered, onClose, last, onCreated }: InviteDialogProps) {
  const client = useClient()
  const now = useNow(15_000)
  const wsId = workspace.id
  const [invite, setInvite] = useState<InviteInfo | null>(null)
  const [qr, setQr] = useState<string | null>(null)
  const list = usePeerQuery(() => client.request('invite.list', { workspaceId: wsId, includeClosed: true }), [wsId], {
    refreshOn: (e) => e.type === 'invite.list' && e.workspaceId === wsId,
  })
  const create = useAction(async (s: InviteSettings) => {
    const inv = await client.request('workspace.invite', { workspaceId: wsId, role: s.role, ttlMs: s.ttlMs, approve: s.approve })
    setInvite(inv)
    onCreated(inv)
    list.reload()
    return inv
  })
  const revoke = useAction(async (inviteId: string) => {
    await client.request('invite.revoke', { inviteId })
    list.reload()
  })

  // Opening the dialog shows an invite at once: the last one while it is still open, else a new one
  // with the default settings (approval, editor, one day).
  const started = useRef(false)
  const listed = list.data !== undefined || list.error !== null
  useEffect(() => {
    if (started.current || !listed) return
    started.current = true
    const still = last && list.data?.some((i) => i.id === last.id && i.state === 'open' && i.expiresAt > Date.now())
    if (last && still) setInvite(last)
    else void create.run(DEFAULTS)
  }, [listed, last, list.data, create.run])

  // The QR encoder loads only when an invite is shown.
  const link = invite?.link
  useEffect(() => {
    if (!link) return
    let cancelled = false
    setQr(null)
    import('qrcode')
      .then((QRCode) => QRCode.toDataURL(link, { errorCorrectionLevel: 'M', margin: 1, width: 220 }))
      .then(
        (url) => {
          if (!cancelled) setQr(url)
        },
        () => {},
      )
    return () => {
      cancelled = true
    }
  }, [link])

  const shownNow = invite ? list.data?.find((i) => i.id === invite.id) : undefined
  const shownOpen = invite !== null && (shownNow?.state ?? 'open') === 'open' && invite.expiresAt > now
  const open = openInvites(list.data ?? [], now)
  const mine = requests.filter((r) => r.workspaceId === wsId)

  return (
    <Dialog title={`Invite someone to ${workspace.name}`} onClose={onClose} testId="invite-dialog" className="invite-dialog">
      {!invite && <Progress label="Creating an invite…" busy={create.busy || !listed} delayMs={0} />}
      {invite && shownOpen && (
        <div className="invite-body">
          <div className="invite-codes">
            <p>
              Send this code or link to the person you invite, over a channel you trust. It works once, and expires{' '}
              {expiresIn(invite.expiresAt, now)}.
            </p>
            <CopyField label="Invite code" value={invite.code} testId="invite-code" multiline />
            <CopyField label="Invite link" value={invite.link} testId="invite-link" />
            <p className="muted" data-testid="invite-expiry">
              Expires {new Date(invite.expiresAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })} · joins as{' '}
              {ROLE_LABEL[invite.role].toLowerCase()} · {invite.needsApproval ? 'asks you first' : 'joins without asking you'}
            </p>
          </div>
          {qr && (
            <img
              className="qr"
              src={qr}
              width={220}
              height={220}
              alt={`QR code of the invite link to ${workspace.name}`}
              data-testid="invite-qr"
            />
          )}
        </div>
      )}
      {invite && !shownOpen && (
        <div className="invite-closed row" data-testid="invite-closed">
          <p>{closedText(shownNow, invite, now)}</p>
          <button type="button" className="primary" disabled={create.busy} onClick={() => void create.run(DEFAULTS)}>
            Make a new invite
          </button>
        </div>
      )}
      <ErrorText error={create.error} onDismiss={create.clearError} />
      {(invite?.needsApproval ?? true) && (
        <section className="safety" aria-label="Your safety words">
          <p>When they join, read them your device’s words; they should see the same ones:</p>
          <p className="words" data-testid="my-safety-words">
            {self.safetyWords}
          </p>
        </section>
      )}
      {mine.length > 0 ? (
        <JoinRequests requests={mine} onAnswered={onAnswered} />
      ) : (
        invite &&
        shownOpen && (
          <p className="muted waiting">
            <span className="spinner small" aria-hidden="true" /> Waiting for someone to use the invite…
          </p>
        )
      )}
      {/* Not before the first invite: the dialog would put the focus on the form's first field. */}
      {(invite !== null || create.error !== null) && (
        <InviteForm myRole={workspace.role} busy={create.busy} onCreate={(s) => void create.run(s)} />
      )}
      <section className="invite-list" aria-labelledby="open-invites-title" data-testid="invite-list">
        <h3 id="open-invites-title">Open invites{list.data ? ` (${open.length})` : ''}</h3>
        {list.data && open.length === 0 && <p className="muted">No open invites: nobody can join with an old code.</p>}
        <ul>
          {open.map((inv) => (
            <InviteRow key={inv.id} invite={inv} now={now} shown={inv.id === invite?.id} busy={revoke.busy} onRevoke={revoke.run} />
          ))}
        </ul>
        <ErrorText error={list.error ?? revoke.error} onDismiss={revoke.clearError} />
      </section>
    </Dialog>
  )
}

/** What became of the invite shown, once it is no longer open. */
function closedText(now: InviteSummary | undefined, invite: InviteInfo, at: number): string {
  const who = now?.byName ?? 'Someone'
  switch (now?.state) {
    case 'used':
      return `${who} joined with this invite.`
    case 'declined':
      return `You declined ${now.byName ?? 'the request'}; this invite cannot be used again.`
    case 'revoked':
      return 'You revoked this invite: nobody can join with it.'
    default:
      return invite.expiresAt <= at ? 'This invite has expired.' : 'This invite cannot be used any more.'
  }
}

function InviteRow(p: { invite: InviteSummary; now: number; shown: boolean; busy: boolean; onRevoke: (id: string) => Promise<unknown> }) {
  const line = inviteLine(p.invite, p.now)
  return (
    <li className="invite-row" data-testid="invite-row" data-invite-id={p.invite.id}>
      <span>
        {line}
        {p.shown && <span className="muted"> · shown above</span>}
      </span>
      <button
        type="button"
        className="small"
        disabled={p.busy}
        aria-label={`Revoke invite: ${line}`}
        onClick={() => void p.onRevoke(p.invite.id)}
        data-testid="invite-revoke"
      >
        Revoke
      </button>
    </li>
  )
}

function InviteForm({ myRole, busy, onCreate }: { myRole: WorkspaceInfo['role']; busy: boolean; onCreate: (s: InviteSettings) => void }) {
  const [role, setRole] = useState<GivenRole>(DEFAULTS.role)
  const [ttlMs, setTtlMs] = useState(DEFAULTS.ttlMs)
  const [noApproval, setNoApproval] = useState(false)
  const warnId = useId()
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    onCreate({ role, ttlMs, approve: !noApproval })
  }
  return (
    <form className="invite-form" onSubmit={submit} aria-labelledby="invite-form-title" data-testid="invite-form">
      <h3 id="invite-form-title">Another invite</h3>
      <div className="row">
        <label className="field inline">
          <span>Joins as</span>
          <select value={role} onChange={(e) => setRole(e.target.value as GivenRole)} data-testid="invite-role">
            {inviteRoles(myRole).map((r) => (
              <option key={r} value={r}>
                {ROLE_LABEL[r]}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Expires in</span>
          <select value={ttlMs} onChange={(e) => setTtlMs(Number(e.target.value))} data-testid="invite-ttl">
            {INVITE_TTLS.map((t) => (
              <option key={t.ms} value={t.ms}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted invite-role-hint">
        {ROLE_LABEL[role]}: {ROLE_HINT[role]}.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={noApproval}
          onChange={(e) => setNoApproval(e.target.checked)}
          aria-describedby={noApproval ? warnId : undefined}
          data-testid="invite-no-approval"
        />
        Let anyone with the code join without asking me
      </label>
      {noApproval && (
        <p id={warnId} className="warn-text" data-testid="invite-no-approval-warning">
          Whoever gets this code, also by mistake, joins as {ROLE_LABEL[role].toLowerCase()} without you comparing safety words.
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={busy} data-testid="invite-create">
          Make this invite
        </button>
      </div>
    </form>
  )
}
