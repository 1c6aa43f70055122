/**
 * Who has the workspace's content key, in the words the CLI uses too (`describeKeyStatus`): all
 * teammates, or who is still waiting for it and since when. After a removal, it also says what is at
 * stake until they have the new key.
 */
import { useEffect, useState } from 'react'
import { describeKeyStatus, keyStatusRisk } from '../../../shared/key-status.ts'
import type { KeyStatus, MemberInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useNow, usePeerQuery } from '../data/hooks.ts'
import { clockTime, sentence } from '../lib/format.ts'

/**
 * The key status of `workspaceId`, loaded again whenever `members` are (they change together: a
 * removal, a role, a teammate confirming the key). `set` shows a status the peer gave otherwise
 * (a removal's result) until the next load.
 */
export function useKeyStatus(
  workspaceId: string,
  members: readonly MemberInfo[] | undefined,
): { status: KeyStatus | undefined; set: (s: KeyStatus) => void } {
  const client = useClient()
  const query = usePeerQuery(() => client.request('workspace.keys', { workspaceId }), [workspaceId])
  const { reload } = query
  useEffect(() => {
    if (members) reload()
  }, [members, reload])
  const [latest, setLatest] = useState<KeyStatus | undefined>(undefined)
  useEffect(() => setLatest(query.data), [query.data])
  return { status: latest, set: setLatest }
}

export function KeyStatusLine({ status }: { status: KeyStatus | undefined }) {
  const now = useNow(60_000)
  if (!status) return null
  const risk = keyStatusRisk(status)
  const waiting = status.waiting.length > 0
  return (
    <p
      className={`key-status ${risk ? 'warn' : waiting ? 'waiting' : 'ok'}`}
      role="status"
      data-testid="key-status"
      data-waiting={status.waiting.length}
    >
      {sentence(describeKeyStatus(status, (at) => clockTime(at, now)))}.{risk && <span className="muted"> {sentence(risk)}.</span>}
    </p>
  )
}
