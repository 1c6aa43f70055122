/** A yes/no question before something that cannot be undone from here. */
import { useAction } from '../data/hooks.ts'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'

export interface ConfirmDialogProps {
  title: string
  message: string
  /** A second, quieter paragraph. */
  note?: string
  confirmLabel: string
  onConfirm: () => Promise<void>
  onClose: () => void
}

export function ConfirmDialog({ title, message, note, confirmLabel, onConfirm, onClose }: ConfirmDialogProps) {
  const action = useAction(async () => {
    await onConfirm()
    return true
  })
  return (
    <Dialog title={title} onClose={onClose} testId="confirm-dialog">
      <p data-testid="confirm-message">{message}</p>
      {note && <p className="muted">{note}</p>}
      <div className="row end">
        <button type="button" onClick={onClose} data-autofocus>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          disabled={action.busy}
          data-testid="confirm-button"
          onClick={() =>
            void action.run().then((done) => {
              if (done) onClose()
            })
          }
        >
          {confirmLabel}
        </button>
        <Progress label="Working…" busy={action.busy} />
      </div>
      <ErrorText error={action.error} />
    </Dialog>
  )
}
