/** Teammates' presence in a workspace, and this device's own, sent throttled. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { Cursor, PresenceInfo } from '../../../shared/types.ts'
import { rememberOffset } from '../lib/offsets.ts'
import { throttle } from '../../../shared/throttle.ts'
import { useClient } from './client-context.tsx'

/** Presence sends at most this often while the selection moves. */
const PRESENCE_THROTTLE_MS = 100

/** Teammates' presence in `workspaceId`, by device id: `presence.list` first, then `presence` events. */
export function usePresence(workspaceId: string, selfId: string): ReadonlyMap<string, PresenceInfo> {
  const client = useClient()
  const [map, setMap] = useState<ReadonlyMap<string, PresenceInfo>>(new Map())
  useEffect(() => {
    let cancelled = false
    setMap(new Map())
    const put = (list: PresenceInfo[]): void => {
      const mine = list.filter((p) => p.workspaceId === workspaceId && p.deviceId !== selfId)
      if (mine.length === 0) return
      for (const p of mine) rememberOffset(p.deviceId, p.utcOffsetMinutes)
      setMap((m) => {
        const next = new Map(m)
        for (const p of mine) next.set(p.deviceId, p)
        return next
      })
    }
    const off = client.onEvent((e) => {
      if (e.type === 'presence') put([e.presence])
    })
    client.request('presence.list', { workspaceId }).then(
      (list) => {
        if (!cancelled) put(list)
      },
      () => {},
    )
    return () => {
      cancelled = true
      off()
    }
  }, [client, workspaceId, selfId])
  return map
}

/**
 * Sends this device's presence: at once when the open document changes (null when none), and
 * throttled while the selection moves. Clears it when the workspace is left.
 */
export function usePresenceSender(workspaceId: string, docId: string | null): (docId: string, cursor: Cursor | null) => void {
  const client = useClient()
  const docRef = useRef(docId)
  docRef.current = docId
  const send = useMemo(
    () =>
      throttle((d: string | null, cursor: Cursor | null) => {
        void client.request('presence.set', { workspaceId, docId: d, cursor }).catch(() => {})
      }, PRESENCE_THROTTLE_MS),
    [client, workspaceId],
  )

  useEffect(() => {
    send(docId, null)
    send.flush()
  }, [send, docId])
  useEffect(
    () => () => {
      send.cancel()
      void client.request('presence.set', { workspaceId, docId: null, cursor: null }).catch(() => {})
    },
    [send, client, workspaceId],
  )

  return useCallback(
    (d: string, cursor: Cursor | null) => {
      if (d === docRef.current) send(d, cursor)
    },
    [send],
  )
}
