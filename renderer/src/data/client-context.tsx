/** The peer client and this device, for every component below the app root. */
import { createContext, useContext } from 'react'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { DeviceInfo } from '../../../shared/types.ts'
import type { EditorVia } from '../transport.ts'

export interface Session {
  client: PeerClient
  self: DeviceInfo
  /** How the editor's worker reaches the peer for this connection. */
  editor: EditorVia
}

export const SessionContext = createContext<Session | null>(null)

export function useSession(): Session {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession outside SessionContext')
  return s
}

/** False while the connection to the peer is lost (the UI stays up; requests fail until it is back). */
export const ConnectedContext = createContext(true)

export function useConnected(): boolean {
  return useContext(ConnectedContext)
}

export function useClient(): PeerClient {
  return useSession().client
}
