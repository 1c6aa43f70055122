/** Where the open document's changes are, in plain words, from the peer's own bookkeeping. */
import { useEffect } from 'react'
import { useClient, useConnected } from '../data/client-context.tsx'
import { usePeerQuery } from '../data/hooks.ts'
import { syncStatusText } from '../lib/format.ts'

export function SyncStatus({ docId, unsent, teammatesOnline }: { docId: string; unsent: number; teammatesOnline: number }) {
  const client = useClient()
  const connected = useConnected()
  const status = usePeerQuery(() => client.request('doc.syncStatus', { docId }), [docId], {
    refreshOn: (e) => (e.type === 'doc.sync' && e.docId === docId) || e.type === 'peer.list',
    everyMs: 4000,
  })
  const { reload } = status
  useEffect(() => {
    if (unsent === 0) reload()
  }, [unsent, reload])

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
  return (
    <span className="sync-status" data-testid="sync-status" data-tone={tone} role="status" title={detail}>
      <span className="sync-dot" aria-hidden="true" />
      {text}
    </span>
  )
}
