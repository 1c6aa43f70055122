/** Where the open document's changes are, in plain words, from the peer's own bookkeeping. */
import { useEffect, useState } from 'react'
import { receiptText } from '../../../shared/receipt-text.ts'
import { useConnected } from '../data/client-context.tsx'
import { useSyncStatus } from '../data/hooks.ts'
import { clockTime, sentence, syncStatusText } from '../lib/format.ts'
import { knownOffset } from '../lib/offsets.ts'

export function SyncStatus({ docId, unsent, teammatesOnline }: { docId: string; unsent: number; teammatesOnline: number }) {
  const connected = useConnected()
  const status = useSyncStatus(docId)
  const { refresh } = status
  const [open, setOpen] = useState(false)
  // Everything sent is durable at the peer: ask (the peer's own doc.sync may come a moment later).
  useEffect(() => {
    if (unsent === 0) refresh()
  }, [unsent, refresh])

  if (!status.data) {
    return (
      <span className="sync-status" data-testid="sync-status" data-tone="unknown" role="status">
        {unsent > 0 ? 'Saving…' : 'Checking…'}
      </span>
    )
  }
  const { text, tone } = syncStatusText(status.data, { unsent, teammatesOnline, connected })
  const detail =
    status.data.otherMembers > 0
      ? `${status.data.upToDate.length} of ${status.data.otherMembers} teammates have every change; ${status.data.waitingChanges} of your changes are waiting to reach anyone.`
      : 'You are the only member of this workspace.'
  const receipts = status.data.receipts
  const now = Date.now()
  return (
    <span className="sync-wrap">
      <button
        type="button"
        className="sync-status link-like"
        data-testid="sync-status"
        data-tone={tone}
        title={detail}
        aria-expanded={open}
        aria-live="polite"
        disabled={receipts.length === 0}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="sync-dot" aria-hidden="true" />
        {text}
      </button>
      {open && receipts.length > 0 && (
        // Delivery receipts: who has which of your edits, from what teammates already told this peer.
        <ul className="receipts" data-testid="receipts" aria-label="Who has your edits">
          {receipts.map((r) => (
            <li key={r.deviceId} data-testid="receipt" data-device={r.deviceId} data-up-to-date={r.upToDate}>
              {sentence(
                receiptText(
                  { ...r, utcOffsetMinutes: r.utcOffsetMinutes ?? knownOffset(r.deviceId) },
                  status.data!.lastOwnEditAt,
                  (at) => clockTime(at, now),
                  -new Date(now).getTimezoneOffset(),
                ),
              )}
            </li>
          ))}
        </ul>
      )}
    </span>
  )
}
