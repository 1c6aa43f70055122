/**
 * createPeer: the one composition root, used by the CLI, the tests and the desktop app's
 * utilityProcess. Opens (and locks) the profile, loads the device identity, starts the libp2p node,
 * and wires the store, workspaces, documents, gossip, catch-up, joining and the client API.
 */
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import {
  GrapevineError,
  type ClientEvent,
  type ClientMethod,
  type ClientParams,
  type ClientResults,
  type PeerClient,
} from '../../shared/protocol.ts'
import { lockProfile, prepareProfileDir } from './store/profile-lock.ts'
import { SqliteStore } from './store/sqlite-store.ts'
import { deviceName, loadOrCreateDevice, setDeviceName, type Device, type DeviceKeyVault } from './identity/device.ts'
import { createNode, setDirectPeers, type GrapevineNode } from './net/node.ts'
import { PeerScoring } from './net/scoring.ts'
import { Connections } from './net/connections.ts'
import { Workspaces } from './workspace/workspaces.ts'
import { Joining } from './workspace/join.ts'
import { Documents } from './sync/documents.ts'
import { Gossip } from './sync/gossip.ts'
import { Catchup, CatchupError } from './sync/catchup.ts'
import { describeFailure } from './net/failure.ts'
import { Presence } from './sync/presence.ts'
import { createApi, type ClientSession } from './api/handler.ts'
import { silentLog, type Log } from './log.ts'

export const DB_FILE = 'grapevine.db'

export interface PeerConfig {
  /** The profile directory: one database, one device, one running peer at a time. */
  profileDir: string
  /** Interface to listen on; 127.0.0.1 keeps the peer on this machine, 0.0.0.0 opens it to the LAN. */
  host?: string
  /** TCP port; by default the one this profile used last, or a free one the first time. */
  port?: number
  /** Find teammates on the LAN with mDNS (it multicasts on the real interface). */
  mdns?: boolean
  /** Addresses (with /p2p/<id>) to dial at start. */
  bootstrap?: string[]
  /** This device's display name, set on first run. */
  name?: string
  log?: Log
  /** Where the device key lives instead of the database (the desktop app: the OS key store). */
  keyVault?: DeviceKeyVault
  /** How often catch-up runs with every connected teammate. */
  catchupIntervalMs?: number
  /** How long remote changes wait to be applied together. */
  batchMs?: number
  snapshotEvery?: number
}

export interface Peer {
  readonly device: Device
  readonly node: GrapevineNode
  readonly dbPath: string
  /** A new client session, in-process; the CLI and tests use it, transports wrap it. */
  connect(): PeerClient & { close(): void }
  /** Runs catch-up now with every connected teammate and waits for it. */
  syncNow(): Promise<void>
  /** Waits until every buffered remote change is committed and applied. */
  settle(): Promise<void>
  stats(): { gossip: Gossip['stats']; catchup: Catchup['stats'] }
  stop(): Promise<void>
}

const PORT_META = 'listen_port'

export async function createPeer(config: PeerConfig): Promise<Peer> {
  const log = config.log ?? silentLog
  // 0700, and anything in it 0600 (an older or loosely made profile is tightened): see prepareProfileDir.
  prepareProfileDir(config.profileDir)
  const lock = lockProfile(config.profileDir)
  let store: SqliteStore | undefined
  let node: GrapevineNode | undefined
  try {
    store = new SqliteStore(join(config.profileDir, DB_FILE))
    const device = await loadOrCreateDevice(store, config.keyVault)
    if (config.name && store.getMeta('device_name') === undefined) await setDeviceName(store, config.name)
    const workspaces = new Workspaces(store, device)
    const host = config.host ?? '0.0.0.0'
    const remembered = Number(store.getMeta(PORT_META)?.toString() ?? '0')
    const port = config.port ?? remembered
    const scoring = new PeerScoring(
      () => workspaces.teammates(),
      () => {
        if (node) setDirectPeers(node.services.pubsub, scoring.trusted())
      },
    )
    const make = (p: number) =>
      createNode({
        privateKey: device.privateKey,
        listen: [`/ip4/${host}/tcp/${p}`],
        mdns: config.mdns ?? false,
        appScore: (peerId) => scoring.score(peerId),
      })
    try {
      node = await make(port)
    } catch (err) {
      if (config.port !== undefined || port === 0) throw err
      log('warn', `port ${port} is taken (${(err as Error).message}); listening on a new one`)
      node = await make(0)
    }
    const actualPort = Number(
      node
        .getMultiaddrs()[0]
        ?.getComponents()
        .find((c) => c.name === 'tcp')?.value ?? 0,
    )
    if (actualPort && actualPort !== remembered) await store.write(() => store!.setMeta(PORT_META, String(actualPort)))
    return await assemble(config, log, lock, store, device, workspaces, node, scoring)
  } catch (err) {
    await Promise.resolve(node?.stop()).catch(() => {})
    store?.close()
    lock.release()
    throw err
  }
}

async function assemble(
  config: PeerConfig,
  log: Log,
  lock: { release(): void },
  store: SqliteStore,
  device: Device,
  workspaces: Workspaces,
  node: GrapevineNode,
  scoring: PeerScoring,
): Promise<Peer> {
  const documents = new Documents(store, device, workspaces, {
    batchMs: config.batchMs ?? 16,
    snapshotEvery: config.snapshotEvery ?? 1000,
    maxLoaded: 64,
    log,
  })
  const repaired = documents.repairListings()
  if (repaired) log('info', `repaired the listing of ${repaired} documents after an unclean stop`)
  const gossip = new Gossip(node.services.pubsub, workspaces, documents, store, scoring, log)
  const refreshDirect = (): void => setDirectPeers(node.services.pubsub, scoring.trusted())
  refreshDirect()
  workspaces.on('members', refreshDirect)
  const catchup = new Catchup(node, workspaces, documents, store, log)
  const joining = new Joining(node, workspaces, store, log)
  const connections = new Connections(node, store, () => workspaces.teammates(), log)
  await catchup.start()
  await joining.start()

  const selfId = device.deviceId
  // Callers that join a running session share its failure: log it once.
  const loggedFailures = new WeakSet<object>()
  const syncWith = (peer: PeerId, only?: string): Promise<void>[] =>
    workspaces
      .shared(peer.toString())
      .filter((ws) => only === undefined || ws === only)
      .map((ws) =>
        catchup.sync(peer, ws).catch((err: unknown) => {
          if (typeof err === 'object' && err !== null) {
            if (loggedFailures.has(err)) return
            loggedFailures.add(err)
          }
          const why = err instanceof CatchupError ? ` while ${err.step}: ${err.reason}` : `: ${describeFailure(err)}`
          log('warn', `catch-up of ${ws} with ${peer} failed${why}`)
        }),
      )
  const syncAll = async (only?: string): Promise<void> => {
    await Promise.all(connections.connectedPeers().flatMap((p) => syncWith(p, only)))
  }
  connections.on('connect', (peer) => {
    // Both sides start catch-up; the higher id waits a little so that usually one session does the work.
    const delay = selfId < peer.toString() ? 0 : 1500
    setTimeout(() => {
      if (connections.isConnected(peer.toString())) void Promise.all(syncWith(peer))
    }, delay).unref()
  })
  workspaces.on('members', (ws) => {
    for (const p of connections.connectedPeers()) if (workspaces.roleOf(ws, p.toString()) !== undefined) void Promise.all(syncWith(p, ws))
  })
  const ticker = setInterval(() => void syncAll(), config.catchupIntervalMs ?? 30_000)
  const directTicker = setInterval(refreshDirect, 10_000)
  connections.start()
  for (const addr of config.bootstrap ?? []) {
    connections.dialAddress(addr).catch((err: Error) => log('warn', `could not reach ${addr}: ${err.message}`))
  }

  const presence = new Presence(workspaces, (ws, state, utc) => gossip.publishPresence(ws, state, utc))
  gossip.presence = presence
  const handle = createApi({
    device,
    store,
    node,
    workspaces,
    documents,
    joining,
    connections,
    presence,
    syncWorkspace: (ws) => syncAll(ws),
  })
  const sessions = new Set<{ session: ClientSession; listeners: Set<(e: ClientEvent) => void> }>()
  const broadcast = (event: ClientEvent, filter?: (s: ClientSession) => boolean): void => {
    for (const s of sessions) if (!filter || filter(s.session)) for (const l of s.listeners) l(event)
  }
  documents.on('changes', (docId, changes, origin) =>
    broadcast({ type: 'doc.changes', docId, changes }, (s) => s !== origin && s.openDocs.has(docId)),
  )
  documents.on('list', (workspaceId) => broadcast({ type: 'doc.list', workspaceId }))
  const syncChanged = (docId: string): void => broadcast({ type: 'doc.sync', docId }, (s) => s.openDocs.has(docId))
  documents.on('heads', (_ws, docId) => syncChanged(docId))
  // What a teammate holds changed: "on 3 of 4 teammates" is stale until the client asks again.
  gossip.onPeerHeads = (docIds) => docIds.forEach(syncChanged)
  catchup.onPeerHeads = (docIds) => docIds.forEach(syncChanged)
  workspaces.on('members', (workspaceId) => {
    broadcast({ type: 'workspace.members', workspaceId })
    broadcast({ type: 'workspace.list' })
  })
  presence.on('change', (p) => broadcast({ type: 'presence', presence: p }))
  joining.on('request', (request) => broadcast({ type: 'join.request', request }))
  const activityDue = new Map<string, NodeJS.Timeout>()
  documents.on('activity', (workspaceId, docId, by) => {
    if (activityDue.has(docId) || !documents.follows(docId)) return
    // One notice per document per few seconds, however fast a teammate types.
    activityDue.set(
      docId,
      setTimeout(() => {
        activityDue.delete(docId)
        const title = store.getDocument(docId)?.title ?? ''
        const byName = workspaces.state(workspaceId)?.members.get(by)?.name ?? null
        broadcast({ type: 'doc.activity', workspaceId, docId, title, by, byName })
      }, 3000),
    )
  })
  connections.on('connect', () => broadcast({ type: 'peer.list' }))
  connections.on('disconnect', () => broadcast({ type: 'peer.list' }))
  log('info', `peer ${selfId} (${deviceName(store)}) listening on ${node.getMultiaddrs().join(', ')}`)

  let stopped = false
  return {
    device,
    node,
    dbPath: store.path,
    connect() {
      const entry = { session: { openDocs: new Set<string>() }, listeners: new Set<(e: ClientEvent) => void>() }
      sessions.add(entry)
      return {
        async request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]> {
          if (stopped) throw new GrapevineError('internal', 'The peer has stopped.')
          return (await handle(method, params, entry.session)) as ClientResults[M]
        },
        onEvent(listener) {
          entry.listeners.add(listener)
          for (const request of joining.waiting()) listener({ type: 'join.request', request })
          return () => entry.listeners.delete(listener)
        },
        close() {
          for (const docId of entry.session.openDocs) documents.release(docId)
          sessions.delete(entry)
        },
      }
    },
    syncNow: () => syncAll(),
    settle: () => documents.settle(),
    stats: () => ({ gossip: gossip.stats, catchup: catchup.stats }),
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(ticker)
      clearInterval(directTicker)
      presence.stop()
      for (const t of activityDue.values()) clearTimeout(t)
      connections.stop()
      gossip.stop()
      await documents.close()
      await node.stop()
      store.close()
      lock.release()
      log('info', 'peer stopped')
    },
  }
}
