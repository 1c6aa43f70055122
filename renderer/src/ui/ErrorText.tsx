/** An error from the peer in plain words, announced when it appears. */
import { plainError } from '../lib/errors.ts'

export function ErrorText({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null
  return (
    <div className="error-text" role="alert" data-testid="error">
      <span>{plainError(error)}</span>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  )
}
