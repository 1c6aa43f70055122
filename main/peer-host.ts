/**
 * Wires the peer's utilityProcess to the rest of main: the supervisor that keeps it running, the
 * broker that hands out ports to it, the sealed device key, and main's own client of it.
 */
import { MessageChannelMain, safeStorage, utilityProcess, type MessagePortMain } from 'electron'
import { join } from 'node:path'
import { createRpcClient } from '../shared/rpc.ts'
import type { PeerClient } from '../shared/protocol.ts'
import { PEER_NODE_FLAGS } from '../shared/peer-runtime.ts'
import { DeviceKeyStore } from './device-key.ts'
import { PeerSupervisor, type PeerState } from './peer-process.ts'
import { PortBroker } from './peer-ports.ts'
import { portChannel } from './port-channel.ts'
import type { Logger, LogLevel } from './log.ts'

export const PROFILE_DIR = 'profile'

export interface PeerHostOptions {
  /** The bundled peer entry (out/peer/utility.js). */
  entry: string
  userData: string
  log: Logger
  peerLog(level: LogLevel, message: string): void
  onState(state: PeerState, detail?: string): void
  /** A fresh client of the peer for main's own use, after every (re)start. */
  onClient(client: PeerClient & { close(): void }): void
}

export function createPeerHost(o: PeerHostOptions): { supervisor: PeerSupervisor; broker: PortBroker<MessagePortMain> } {
  const keys = new DeviceKeyStore(o.userData, safeStorage)
  const broker: PortBroker<MessagePortMain> = new PortBroker<MessagePortMain>({
    newChannel: () => {
      const { port1, port2 } = new MessageChannelMain()
      return { peerSide: port1, pageSide: port2 }
    },
    connectPeer: (port) => supervisor.connect(port),
    close: (port) => port.close(),
  })
  const supervisor: PeerSupervisor = new PeerSupervisor({
    // 'pipe': a crash's stack trace on stderr reaches our log file instead of vanishing.
    fork: () => utilityProcess.fork(o.entry, [], { serviceName: 'Grapevine Peer', stdio: 'pipe', execArgv: [...PEER_NODE_FLAGS] }),
    startConfig: async () => {
      const stored = await keys.load()
      if (stored?.upgraded) o.log.info('device key moved into the system key store')
      return { profileDir: join(o.userData, PROFILE_DIR), ...(stored ? { deviceKey: stored.key } : {}) }
    },
    // Main confirms the key hand-over only after sealing and writing succeeded (the supervisor
    // answers the peer when this resolves, or tells it the failure when it rejects).
    onDeviceKey: async (key) => {
      const outcome = await keys.save(key).catch((err: Error) => {
        o.log.error(`could not seal the device key: ${err.message}`)
        throw err
      })
      if (outcome === 'sealed') o.log.info('device key sealed with the system key store')
      if (outcome === 'sealed-weakly')
        o.log.warn('no system key store (secret service) found: the device key file is obscured, not encrypted')
      if (outcome === 'unsealed')
        o.log.warn('no system key store available: the device key is kept unencrypted, readable by this user only')
    },
    onLog: o.peerLog,
    onState: (state, detail) => {
      if (state === 'ready') {
        broker.peerReady()
        const port = broker.openLocal()
        if (port) o.onClient(createRpcClient(portChannel(port)))
      }
      o.onState(state, detail)
    },
  })
  return { supervisor, broker }
}
