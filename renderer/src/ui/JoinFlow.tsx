/**
 * Joining a workspace with an invite: read the invite first (`invite.inspect`: which workspace,
 * until when, and both devices' safety words to compare by voice), then `workspace.join`, which
 * waits for the inviter to accept when the invite asks for approval.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { MAX_INVITE_CODE_CHARS } from '../../../shared/limits.ts'
import type { InviteDetails, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow } from '../data/hooks.ts'
import { expiresIn } from '../lib/format.ts'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'

export function JoinFlow({ initialCode, onJoined }: { initialCode?: string; onJoined: (ws: WorkspaceInfo) => void }) {
  const client = useClient()
  const now = useNow(15_000)
  const [code, setCode] = useState(initialCode ?? '')
  const [details, setDetails] = useState<InviteDetails | null>(null)
  const inspect = useAction(async (c: string) => client.request('invite.inspect', { code: c }))
  const join = useAction(async (c: string) => client.request('workspace.join', { code: c }))

  // Stable (inspect.run is), so the effect below runs only when initialCode changes.
  const check = useCallback(
    async (c: string): Promise<void> => {
      setDetails(null)
      const d = await inspect.run(c.trim())
      if (d) setDetails(d)
    },
    [inspect.run],
  )
  useEffect(() => {
    if (initialCode) {
      setCode(initialCode)
      void check(initialCode)
    }
  }, [initialCode, check])

  const submitCode = (e: FormEvent): void => {
    e.preventDefault()
    void check(code)
  }
  const doJoin = async (): Promise<void> => {
    const ws = await join.run(code.trim())
    if (ws) onJoined(ws)
  }

  if (!details) {
    return (
      <form className="stack" onSubmit={submitCode} data-testid="join-form">
        <label className="field">
          <span>Invite code or link</span>
          <textarea
            value={code}
            rows={3}
            maxLength={MAX_INVITE_CODE_CHARS}
            required
            spellCheck={false}
            placeholder="GV1.… or grapevine://join/…"
            onChange={(e) => setCode(e.target.value)}
            data-testid="join-code-input"
          />
        </label>
        <div className="row">
          <button type="submit" className="primary" disabled={!code.trim() || inspect.busy}>
            Check invite
          </button>
          <Progress label="Reading the invite…" busy={inspect.busy} />
        </div>
        <ErrorText error={inspect.error} />
      </form>
    )
  }

  const expired = details.expiresAt <= now
  return (
    <section className="stack" aria-label="Invite details" data-testid="invite-details">
      <p className="lead">
        Join <strong data-testid="invite-workspace-name">{details.workspaceName}</strong>
        <span className="muted"> — this invite expires {expiresIn(details.expiresAt, now)}</span>
      </p>
      <div className="safety">
        <p>Before you join, compare these words with the person who invited you, by voice or in person. If they differ, do not join.</p>
        <dl>
          <dt>Their device</dt>
          <dd className="words" data-testid="inviter-safety-words">
            {details.inviterSafetyWords}
          </dd>
          <dt>Your device (read these out)</dt>
          <dd className="words" data-testid="my-safety-words">
            {details.mySafetyWords}
          </dd>
        </dl>
        {details.needsApproval && <p className="muted">The inviter will be asked to accept you, after checking your words.</p>}
      </div>
      <div className="row">
        <button type="button" className="primary" onClick={() => void doJoin()} disabled={join.busy || expired} data-testid="join-button">
          Join {details.workspaceName}
        </button>
        <button type="button" onClick={() => setDetails(null)} disabled={join.busy}>
          Back
        </button>
        <Progress
          label={details.needsApproval ? 'Joining — waiting for the inviter to accept…' : 'Joining and fetching documents…'}
          busy={join.busy}
          delayMs={0}
        />
      </div>
      <ErrorText error={join.error} />
    </section>
  )
}
