/**
 * People asking to join with one of this device's invites. The inviter compares the words the
 * joiner reads out with the words shown here before accepting: that is what makes the join safe.
 */
import { useState } from 'react'
import type { JoinRequestInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { errorCode } from '../lib/errors.ts'
import { ErrorText } from './ErrorText.tsx'

export function JoinRequests({ requests, onAnswered }: { requests: JoinRequestInfo[]; onAnswered: (requestId: string) => void }) {
  if (requests.length === 0) return null
  return (
    <section className="join-requests" aria-label="Join requests">
      {requests.map((r) => (
        <JoinRequestCard key={r.requestId} request={r} onAnswered={onAnswered} />
      ))}
    </section>
  )
}

function JoinRequestCard({ request, onAnswered }: { request: JoinRequestInfo; onAnswered: (requestId: string) => void }) {
  const client = useClient()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const decide = async (accept: boolean): Promise<void> => {
    setBusy(true)
    setError(null)
    try {
      await client.request('join.decide', { requestId: request.requestId, accept })
      onAnswered(request.requestId)
    } catch (err) {
      // Answered elsewhere or timed out: nothing left to decide.
      if (errorCode(err) === 'not-found') onAnswered(request.requestId)
      else setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <fieldset className="join-request" aria-label={`${request.name} asks to join`} data-testid="join-request">
      <p>
        <strong data-testid="join-request-name">{request.name}</strong> asks to join <strong>{request.workspaceName}</strong>.
      </p>
      <p>Ask them to read out the words on their screen. Accept only if they are exactly:</p>
      <p className="words" data-testid="join-request-words">
        {request.safetyWords}
      </p>
      <div className="row">
        <button type="button" className="primary" disabled={busy} onClick={() => void decide(true)} data-testid="join-accept">
          Accept {request.name}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void decide(false)} data-testid="join-reject">
          Reject
        </button>
      </div>
      <ErrorText error={error} />
    </fieldset>
  )
}
