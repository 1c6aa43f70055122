/** The workspace itself: its name, owner, your role in it, and leaving it (not for the owner). */
import { useId } from 'react'
import type { MemberInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { cannotLeave, ROLE_HINT, ROLE_LABEL } from '../lib/membership.ts'
import { Dialog } from './Dialog.tsx'

export interface WorkspaceDialogProps {
  workspace: WorkspaceInfo
  members: MemberInfo[] | undefined
  onLeave: () => void
  onClose: () => void
}

export function WorkspaceDialog({ workspace: ws, members, onLeave, onClose }: WorkspaceDialogProps) {
  const reasonId = useId()
  const owner = members?.find((m) => m.deviceId === ws.ownerId)
  const reason = cannotLeave(ws.role)
  return (
    <Dialog title={ws.name} onClose={onClose} testId="workspace-dialog">
      <dl className="facts">
        <dt>Your role</dt>
        <dd data-testid="workspace-my-role">
          {ROLE_LABEL[ws.role]} — {ROLE_HINT[ws.role]}
        </dd>
        <dt>Owner</dt>
        <dd>{ws.role === 'owner' ? 'You' : (owner?.name ?? 'a teammate')}</dd>
        <dt>Members</dt>
        <dd>{ws.memberCount}</dd>
        <dt>Started</dt>
        <dd>{new Date(ws.createdAt).toLocaleDateString(undefined, { dateStyle: 'medium' })}</dd>
      </dl>
      <section className="leave" aria-labelledby={`${reasonId}-title`}>
        <h3 id={`${reasonId}-title`}>Leave this workspace</h3>
        <p className="muted">Your documents stay on this device but are no longer shown; to come back you need a new invite.</p>
        <div className="row">
          <button
            type="button"
            className="danger"
            disabled={reason !== null}
            aria-describedby={reason ? reasonId : undefined}
            onClick={onLeave}
            data-testid="leave-workspace"
          >
            Leave {ws.name}…
          </button>
        </div>
        {reason && (
          <p id={reasonId} className="muted" data-testid="leave-disabled-reason">
            {reason}
          </p>
        )}
      </section>
    </Dialog>
  )
}
