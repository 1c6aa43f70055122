/**
 * Invite a teammate: a one-time code, its grapevine:// link and a QR code of the link, with its
 * expiry. The invite asks for approval: when the joiner presents it, their name and safety words
 * show here to compare before accepting.
 */
import { useEffect, useState } from 'react'
import type { DeviceInfo, InviteInfo, JoinRequestInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow } from '../data/hooks.ts'
import { expiresIn } from '../lib/format.ts'
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
}

export function InviteDialog({ workspace, self, requests, onAnswered, onClose }: InviteDialogProps) {
  const client = useClient()
  const now = useNow(15_000)
  const [invite, setInvite] = useState<InviteInfo | null>(null)
  const [qr, setQr] = useState<string | null>(null)
  const create = useAction(async (workspaceId: string) => client.request('workspace.invite', { workspaceId, approve: true }))

  // One invite per workspace shown (create.run is stable: useAction's useCallback has no deps).
  useEffect(() => {
    let cancelled = false
    void create.run(workspace.id).then((inv) => {
      if (!inv || cancelled) return
      setInvite(inv)
      // The QR encoder loads only when an invite is shown.
      import('qrcode')
        .then((QRCode) => QRCode.toDataURL(inv.link, { errorCorrectionLevel: 'M', margin: 1, width: 220 }))
        .then(
          (url) => {
            if (!cancelled) setQr(url)
          },
          () => {
            if (!cancelled) setQr(null)
          },
        )
    })
    return () => {
      cancelled = true
    }
  }, [workspace.id, create.run])

  const mine = requests.filter((r) => r.workspaceId === workspace.id)
  return (
    <Dialog title={`Invite someone to ${workspace.name}`} onClose={onClose} testId="invite-dialog" className="invite-dialog">
      {!invite && <Progress label="Creating an invite…" busy={create.busy} delayMs={0} />}
      <ErrorText error={create.error} />
      {invite && (
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
              {invite.role}
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
      <section className="safety" aria-label="Your safety words">
        <p>When they join, read them your device’s words; they should see the same ones:</p>
        <p className="words" data-testid="my-safety-words">
          {self.safetyWords}
        </p>
      </section>
      {mine.length > 0 ? (
        <JoinRequests requests={mine} onAnswered={onAnswered} />
      ) : (
        invite && (
          <p className="muted waiting">
            <span className="spinner small" aria-hidden="true" /> Waiting for someone to use the invite…
          </p>
        )
      )}
    </Dialog>
  )
}
