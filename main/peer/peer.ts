/**
 * createPeer: the one composition root, used by the CLI, the tests and the desktop app's
 * utilityProcess. Opens (and locks) the profile, loads the device identity, builds the libp2p node,
 * wires the store, workspaces, documents, gossip, catch-up, joining and the client API to it, and then
 * starts it (`Peer.online`): local reads are answered from the moment the profile is open.
 */
import { createServer } from 'node:net'
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
import { signPayload } from './identity/keys.ts'
import { buildNode, setDirectPeers, startNode, type GrapevineNode } from './net/node.ts'
import { PeerScoring } from './net/scoring.ts'
import { Connections } from './net/connections.ts'
import { AddressBook } from './net/address-book.ts'
import { type Mapped, PortMapper } from './net/port-mapping.ts'
import { Reachability } from './net/reachability.ts'
import { SearchIndex } from './sync/search-index.ts'
import { HistoryIndex } from './sync/history-index.ts'
import { keepRelaySlot, relayPlan, type RelayMode, type RelayPlan } from './net/relay.ts'
import { PeerLimits, type PeerLimitsOptions } from './net/limits.ts'
import { installTopicGate, workspaceEntitlement, type TopicGate } from './net/topic-gate.ts'
import { JOIN_PROTOCOL } from './wire/peer-protocol.ts'
import { Workspaces } from './workspace/workspaces.ts'
import { EpochKeys } from './workspace/epoch-keys.ts'
import { Joining } from './workspace/join.ts'
import { Documents } from './sync/documents.ts'
import { Gossip } from './sync/gossip.ts'
import { Live } from './sync/live.ts'
import { Catchup, CatchupError } from './sync/catchup.ts'
import { CatchupRounds } from './sync/catchup-rounds.ts'
import { describeFailure } from './net/failure.ts'
import { Presence } from './sync/presence.ts'
import { heldChangesOf } from './sync/held-changes.ts'
import { createApi, leftMetaKey, type ClientSession } from './api/handler.ts'
import { StartGate } from './api/start-gate.ts'
import { silentLog, type Log } from './log.ts'
import { throttle, type Throttled } from '../../shared/throttle.ts'
import { MAX_LIST_EVENT_DOCS } from '../../shared/limits.ts'

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
  /** Relay for teammates (members only): `auto` when this peer has a public address (net/relay.ts). */
  relay?: RelayMode
  /** Relays a person named (multiaddrs with /p2p/<id>): this peer keeps a slot on each and announces it. */
  relays?: string[]
  /**
   * Ask the router on the LAN (UPnP) to forward this peer's port, so teammates anywhere reach it directly
   * (net/port-mapping.ts). On by default; only ever tried when the peer listens on a private address.
   */
  portMapping?: boolean
  /** How often to ask again when no router answered (tests; 10 minutes by default). */
  portMappingRetryMs?: number
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
  /** How long after the last change made with no connection it is sealed into a run (sync/runs.ts). */
  runSealIdleMs?: number
  /**
   * When own changes that left alone go under covers (sync/own-covers.ts): this long after the last one
   * (`idleMs`), once a document has at least `min` of them; tests shorten both.
   */
  covers?: { idleMs?: number; min?: number }
  /** Limits for strangers' connections and streams (net/limits.ts); tests shorten them. */
  limits?: Partial<PeerLimitsOptions>
  /**
   * Whether `createPeer` resolves only once the network is up (the default), or as soon as the profile is
   * open, the network starting meanwhile (`Peer.online`): the desktop app's peer, whose window lists and
   * opens documents before the node listens (api/start-gate.ts).
   */
  awaitNetwork?: boolean
}

export interface Peer {
  readonly device: Device
  readonly node: GrapevineNode
  readonly dbPath: string
  /** The content keys this device holds (tests look at them; nothing else outside should). */
  readonly keys: EpochKeys
  /**
   * Resolves once the node listens and the network's parts have started (at once when `createPeer` waited
   * for it); rejects if it could not start. Until then clients' local reads are answered, the rest waits.
   */
  readonly online: Promise<void>
  /** A new client session, in-process; the CLI and tests use it, transports wrap it. */
  connect(): PeerClient & { close(): void }
  /** Runs catch-up now with every connected teammate and waits for it. */
  syncNow(): Promise<void>
  /** Waits until every buffered remote change is committed and applied. */
  settle(): Promise<void>
  stats(): {
    gossip: Gossip['stats']
    /** The live path: messages sent straight to connected teammates (sync/live.ts). */
    live: Live['stats']
    catchup: Catchup['stats']
    limits: PeerLimits['stats']
    gate: TopicGate['stats']
    /** Authentic changes kept aside until their membership ops or key arrive (sync/held-changes.ts). */
    held: number
    /** Address records handed among teammates (net/address-book.ts). */
    addresses: AddressBook['stats']
    /** Ports the router forwards to this device (net/port-mapping.ts). */
    mapped: Mapped[]
    /** Runs this device sealed of the changes it made with no connection (sync/runs.ts), and the changes in them. */
    runs: Documents['runStats']
    /** Covers this device made of its changes that left alone (sync/own-covers.ts), and the changes under them. */
    covers: Documents['coverStats']
  }
  stop(): Promise<void>
}

const PORT_META = 'listen_port'
/** Clients hear that a workspace's listing changed at most this often (the first change at once). */
const LIST_EVENT_MS = 500
/** Clients hear that a document's sync status changed at most this often (the first change at once). */
const SYNC_EVENT_MS = 250
/** How long a leave or removal waits for the devices it is handed to directly. */
const ANNOUNCE_TIMEOUT_MS = 5_000

export async function createPeer(config: PeerConfig): Promise<Peer> {
  const log = config.log ?? silentLog
  // 0700, and anything in it 0600 (an older or loosely made profile is tightened): see prepareProfileDir.
  prepareProfileDir(config.profileDir)
  const lock = lockProfile(config.profileDir)
  let store: SqliteStore | undefined
  let node: GrapevineNode | undefined
  let limits: PeerLimits | undefined
  try {
    store = new SqliteStore(join(config.profileDir, DB_FILE))
    if (store.integrityChecked) log('info', 'the last stop was not clean: the profile was checked for damage')
    const device = await loadOrCreateDevice(store, config.keyVault)
    if (config.name && store.getMeta('device_name') === undefined) await setDeviceName(store, config.name)
    const workspaces = new Workspaces({ store, device })
    const host = config.host ?? '0.0.0.0'
    const remembered = Number(store.getMeta(PORT_META)?.toString() ?? '0')
    const port = await portToListenOn(host, config.port, remembered, log)
    const scoring = new PeerScoring({
      teammates: () => workspaces.teammates(),
      onChange: () => {
        if (node) setDirectPeers(node.services.pubsub, scoring.trusted())
      },
    })
    // Strangers' connections and streams within limits; workspace topics for that workspace's members only.
    const peerLimits = new PeerLimits({ teammates: () => workspaces.teammates(), log }, config.limits)
    limits = peerLimits
    const entitlement = workspaceEntitlement(workspaces, device.deviceId)
    const relay = relayPlan(host, config.relay)
    let gate: TopicGate | undefined
    // Built, not started: the profile's own parts are wired to it first, and it starts behind them (assemble).
    node = await buildNode({
      privateKey: device.privateKey,
      listen: [`/ip4/${host}/tcp/${port}`],
      mdns: config.mdns ?? false,
      relay,
      relays: config.relays,
      appScore: (peerId) => scoring.score(peerId),
      gater: peerLimits.gater,
      beforeStart: (n) => {
        peerLimits.attach(n)
        gate = installTopicGate(n.services.pubsub, {
          entitled: entitlement.entitled,
          onRefused: (kind, peer, topic) => peerLimits.note(`gossip ${kind}`, peer, `for ${topic}, whose workspace it is not a member of`),
        })
      },
    })
    const peer = await assemble({
      config,
      log,
      lock,
      store,
      device,
      workspaces,
      node,
      scoring,
      net: { limits: peerLimits, gate: gate!, entitlement, relay, rememberedPort: remembered },
    })
    if (config.awaitNetwork !== false) {
      try {
        await peer.online
      } catch (err) {
        await peer.stop().catch(() => {})
        throw err
      }
    }
    return peer
  } catch (err) {
    limits?.stop()
    await Promise.resolve(node?.stop()).catch(() => {})
    store?.close()
    lock.release()
    throw err
  }
}

/** What the rest of a peer is assembled from: the parts made before its libp2p node, and the node. */
interface AssembleComponents {
  config: PeerConfig
  log: Log
  lock: { release(): void }
  store: SqliteStore
  device: Device
  workspaces: Workspaces
  node: GrapevineNode
  scoring: PeerScoring
  net: {
    limits: PeerLimits
    gate: TopicGate
    entitlement: ReturnType<typeof workspaceEntitlement>
    relay: RelayPlan
    rememberedPort: number
  }
}

async function assemble(components: AssembleComponents): Promise<Peer> {
  const { config, log, lock, store, device, workspaces, node, scoring, net } = components
  // First of the membership listeners: who may have which topic, and who is a stranger, is settled
  // before gossip, catch-up and the others react to a change.
  workspaces.on('members', () => {
    net.entitlement.update()
    net.limits.refresh()
    net.gate.refresh()
  })
  // Keys next: they are opened from the ops before any document is loaded, and kept as ops arrive.
  const keys = new EpochKeys({ device, workspaces, log })
  await Promise.all(workspaces.ids().map((ws) => keys.settled(ws)))
  const documents = new Documents(
    { store, device, workspaces, keys },
    {
      batchMs: config.batchMs ?? 16,
      snapshotEvery: config.snapshotEvery ?? 1000,
      maxLoaded: 64,
      // With no connection at all, nothing published could reach anyone: edits then leave as runs (sync/runs.ts).
      online: () => node!.getConnections().length > 0,
      sealIdleMs: config.runSealIdleMs,
      covers: config.covers,
      log,
    },
  )
  // The first connection: what was made before it leaves as runs, sealed before anything can be sent.
  node.addEventListener('connection:open', () => documents.sealRuns())
  // Listing rows are written lazily, and all of them before the store closes (stop): only a stop that was not
  // clean can leave one behind the change log. The check reads every document's change count.
  const repaired = store.closedCleanly ? 0 : documents.repairListings()
  if (repaired) log('info', `repaired the listing of ${repaired} documents after an unclean stop`)
  // Edits made with no connection wait unsigned in the log until they are sealed into runs: a crash leaves them so.
  const unsigned = documents.sealUnsigned()
  if (unsigned) log('info', `sealed ${unsigned} changes made with no connection that the last stop left unsigned`)
  // A keeper reads nothing it stores, so it indexes nothing.
  const readableWorkspaces = (): string[] => workspaces.ids().filter((ws) => workspaces.roleOf(ws, device.deviceId) !== 'keeper')
  const search = new SearchIndex({ store, documents, readable: readableWorkspaces, log })
  search.start()
  const history = new HistoryIndex({ store, documents, self: device.deviceId, readable: readableWorkspaces, log })
  history.start()
  const live = new Live({ node, isTeammate: (peer) => net.limits.isTeammate(peer), log })
  const gossip = new Gossip({
    pubsub: node.services.pubsub,
    live,
    workspaces,
    keys,
    documents,
    store,
    scoring,
    log,
    sign: (payload) => signPayload(device.signingKey, payload),
  })
  const refreshDirect = (): void => setDirectPeers(node.services.pubsub, scoring.trusted())
  refreshDirect()
  workspaces.on('members', refreshDirect)
  const catchup = new Catchup({ node, workspaces, keys, documents, store, log })
  const joining = new Joining({
    node,
    workspaces,
    store,
    log,
    keysSettled: (ws) => keys.settled(ws),
    mapped: () => portMapper.addresses(),
  })
  // Teammates' own word on where they are, passed among members: whoever reaches one member reaches all.
  // The router's forwarded port, once it answered, is announced with this device's other addresses.
  const portMapper = new PortMapper({ log, onChange: () => void addresses.resign() }, config.portMappingRetryMs)
  const addresses = new AddressBook({
    node,
    store,
    device,
    members: workspaces,
    dial: (id) => connections.dialNow(id),
    mapped: () => portMapper.addresses(),
    log,
  })
  const connections = new Connections({
    node,
    store,
    teammates: () => workspaces.teammates(),
    log,
    announced: (id) => addresses.addressesOf(id),
  })
  const relaySlot = keepRelaySlot({ node, teammates: () => workspaces.teammates(), log }, net.relay)
  // Whether teammates reach this device directly: seen from their connections coming in.
  const reachability = new Reachability({
    node,
    isTeammate: (id) => workspaces.teammates().has(id),
    nameOf: (id) => {
      for (const ws of workspaces.ids()) {
        const m = workspaces.state(ws)?.members.get(id)
        if (m) return m.name
      }
      return null
    },
  })
  reachability.start()
  workspaces.on('members', () => {
    connections.membersChanged()
    addresses.membersChanged()
    relaySlot.membersChanged()
  })
  connections.on('disconnect', (peer) => net.gate.forget(peer.toString()))
  // A stranger's join stream and connection may outlive their deadlines while a person decides.
  net.limits.lingerWhile(JOIN_PROTOCOL, (peer) => joining.waiting().some((r) => r.deviceId === peer))
  // The live stream to a teammate opens on connect, so that the first keystroke after it waits for nothing.
  connections.on('connect', (peer) => live.warm(peer))
  // Teammates hear whom this device reaches now (sync/reach.ts), so that one away does not put every message on the
  // topic. A stranger's connections change nothing they are told (and could otherwise make this device report often).
  connections.on('connect', (peer) => {
    if (net.limits.isTeammate(peer.toString())) gossip.connectionsChanged()
  })
  connections.on('disconnect', (peer) => {
    if (net.limits.isTeammate(peer.toString())) gossip.disconnected(peer.toString())
  })

  const selfId = device.deviceId
  // Callers that join a running session share its failure: log it once.
  const loggedFailures = new WeakSet<object>()
  const syncWith = (peer: PeerId, only?: string, unlessSyncedSince?: number): Promise<void>[] =>
    workspaces
      .shared(peer.toString())
      .filter((ws) => only === undefined || ws === only)
      .map((ws) =>
        catchup.sync(peer, ws, unlessSyncedSince).catch((err: unknown) => {
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
    // The lower id starts catch-up at once. The higher id waits, then starts only the sessions that did not
    // run meanwhile (the other side may not know yet that this device is a member, or run an older version);
    // a session it answers while waiting covers it (one session per peer and workspace: Catchup.sync).
    const first = selfId < peer.toString()
    const connectedAt = Date.now()
    setTimeout(
      () => {
        if (connections.isConnected(peer.toString())) void Promise.all(syncWith(peer, undefined, first ? undefined : connectedAt))
      },
      first ? 0 : 1500,
    ).unref()
  })
  workspaces.on('members', (ws) => {
    for (const p of connections.connectedPeers()) if (workspaces.roleOf(ws, p.toString()) !== undefined) void Promise.all(syncWith(p, ws))
  })
  // Every teammate and shared workspace once per interval, spread over it (sync/catchup-rounds.ts).
  const rounds = new CatchupRounds({
    pairs: () =>
      connections
        .connectedPeers()
        .flatMap((peer) => workspaces.shared(peer.toString()).map((ws) => ({ peer, key: peer.toString(), ws })))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.ws < b.ws ? -1 : 1)),
    connected: (key) => connections.isConnected(key),
    sync: async (peer, ws, since) => {
      await Promise.all(syncWith(peer, ws, since))
    },
    intervalMs: config.catchupIntervalMs ?? 30_000,
  })
  rounds.start()
  const directTicker = setInterval(refreshDirect, 10_000)

  // A catch-up session hands over this device's membership ops first: its responder takes them before it
  // checks who asks. So a leave reaches teammates, and a removal the removed device, that gossip no longer does.
  const announce = async (ws: string, deviceIds: string[]): Promise<number> => {
    const wanted = new Set(deviceIds)
    const told = await Promise.all(
      connections
        .connectedPeers()
        .filter((p) => wanted.has(p.toString()))
        .map((p) =>
          Promise.race([
            // A session already running with that peer (the periodic one) is joined by `sync`, and its
            // summary may predate the op: a second session after it carries the op for sure.
            catchup
              .sync(p, ws)
              .catch(() => {})
              .then(() => catchup.sync(p, ws))
              .then(
                () => true,
                (err: unknown) => err instanceof CatchupError && err.reason.startsWith('peer refused'),
              ),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ANNOUNCE_TIMEOUT_MS).unref()),
          ]),
        ),
    )
    return told.filter(Boolean).length
  }
  // A teammate who was offline when this device left learns it when it next connects.
  connections.on('connect', (peer) => {
    const id = peer.toString()
    for (const ws of workspaces.ids()) {
      if (workspaces.roleOf(ws, selfId) === undefined && workspaces.roleOf(ws, id) !== undefined && store.getMeta(leftMetaKey(ws)))
        void announce(ws, [id])
    }
  })

  const presence = new Presence({ workspaces, publish: (ws, state, utc) => gossip.publishPresence(ws, state, utc) })
  gossip.presence = presence
  const handle = createApi({
    device,
    store,
    node,
    workspaces,
    keys,
    documents,
    joining,
    connections,
    presence,
    search,
    history,
    portMapping: () => portMapper.status(),
    reachability: () => reachability.status(net.relay, portMapper.status(), node.getMultiaddrs().map(String)),
    rttOf: (id) => catchup.rttOf(id),
    syncWorkspace: (ws) => syncAll(ws),
    announce,
  })
  const sessions = new Set<{ session: ClientSession; listeners: Set<(e: ClientEvent) => void> }>()
  /** To every session `filter` picks; with no filter (a window-wide event), not to sessions that asked for their documents' events only. */
  const broadcast = (event: ClientEvent, filter?: (s: ClientSession) => boolean): void => {
    for (const s of sessions) if (filter ? filter(s.session) : s.session.events === 'all') for (const l of s.listeners) l(event)
  }
  documents.on('changes', (docId, changes, origin) =>
    broadcast({ type: 'doc.changes', docId, changes }, (s) => s !== origin && s.openDocs.has(docId)),
  )
  // A listing or a sync status changes with every keystroke, and every window asks again when told:
  // told at once after a quiet spell, then at most every LIST_EVENT_MS / SYNC_EVENT_MS per workspace or document.
  // Each event names the documents whose rows changed since the last (a window then asks for those rows only,
  // not for a listing of a thousand documents twice a second while a teammate types), or none: all may have.
  const listed = new Map<string, Set<string> | 'all'>()
  const listEvents = paced(LIST_EVENT_MS, (workspaceId) => {
    const ids = listed.get(workspaceId)
    listed.delete(workspaceId)
    const docIds = ids instanceof Set && ids.size <= MAX_LIST_EVENT_DOCS ? [...ids] : undefined
    broadcast({ type: 'doc.list', workspaceId, ...(docIds ? { docIds } : {}) })
  })
  documents.on('list', (workspaceId, docId) => {
    const ids = listed.get(workspaceId)
    if (docId === undefined) listed.set(workspaceId, 'all')
    else if (ids === undefined) listed.set(workspaceId, new Set([docId]))
    else if (ids !== 'all') ids.add(docId)
    listEvents.note(workspaceId)
  })
  const syncEvents = paced(SYNC_EVENT_MS, (docId) => broadcast({ type: 'doc.sync', docId }, (s) => s.openDocs.has(docId)))
  const syncChanged = syncEvents.note
  documents.on('heads', (_ws, docId) => syncChanged(docId))
  // What a teammate holds changed: "on 3 of 4 teammates" is stale until the client asks again.
  gossip.onPeerHeads = (docIds) => docIds.forEach(syncChanged)
  catchup.onPeerHeads = (docIds) => docIds.forEach(syncChanged)
  workspaces.on('members', (workspaceId) => {
    broadcast({ type: 'workspace.members', workspaceId })
    broadcast({ type: 'workspace.list' })
  })
  // Who has the current key is shown with the members (`key`, `workspace.keys`): a confirmation refreshes them.
  keys.on('confirmed', (workspaceId) => broadcast({ type: 'workspace.members', workspaceId }))
  presence.on('change', (p) => {
    broadcast({ type: 'presence', presence: p })
    history.noteZone(p.deviceId, p.utcOffsetMinutes)
  })
  joining.on('request', (request) => broadcast({ type: 'join.request', request }))
  joining.on('settled', (s) => broadcast({ type: 'join.settled', ...s }))
  joining.on('invites', (workspaceId) => broadcast({ type: 'invite.list', workspaceId }))
  let stopped = false
  const activityDue = new Map<string, NodeJS.Timeout>()
  documents.on('activity', (workspaceId, docId, by) => {
    // Changes still arrive while the peer stops: no notice is due after it (it would read a closed store).
    if (stopped || activityDue.has(docId) || !documents.follows(docId)) return
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
  // The network starts behind the profile's own parts: until it listens, clients' local reads are answered
  // and anything else waits (api/start-gate.ts). Nothing here is reached by a teammate before node.start().
  const online = (async () => {
    // After the requests already asked (a window's first listing) are answered: one turn of the event loop.
    await new Promise((r) => setImmediate(r))
    await startNode(node)
    gossip.start()
    const port = Number(
      node
        .getMultiaddrs()[0]
        ?.getComponents()
        .find((c) => c.name === 'tcp')?.value ?? 0,
    )
    if (port && port !== net.rememberedPort) await store.write(() => store.setMeta(PORT_META, String(port)))
    await catchup.start()
    await joining.start()
    await addresses.start()
    if (config.portMapping !== false) void portMapper.start(node.getMultiaddrs())
    await live.start((origin, data) => gossip.receiveLive(origin, data))
    connections.start()
    connections.pin(config.relays ?? [])
    for (const addr of config.bootstrap ?? []) {
      connections.dialAddress(addr).catch((err: Error) => log('warn', `could not reach ${addr}: ${err.message}`))
    }
    log('info', `peer ${selfId} (${deviceName(store)}) listening on ${node.getMultiaddrs().join(', ')}`)
  })()
  // Its failure is the caller's, through `online` (createPeer, or the app's host): not an unhandled rejection.
  online.catch(() => {})
  const startGate = new StartGate(online)

  return {
    device,
    node,
    dbPath: store.path,
    keys,
    online,
    connect() {
      const entry = {
        session: { openDocs: new Set<string>(), events: 'all' as 'all' | 'open-docs' },
        listeners: new Set<(e: ClientEvent) => void>(),
        gate: { held: 0 },
      }
      sessions.add(entry)
      return {
        async request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]> {
          if (stopped) throw new GrapevineError('internal', 'The peer has stopped.')
          await startGate.pass(method, entry.gate)
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
    syncNow: async () => {
      await online
      await syncAll()
    },
    settle: async () => {
      await Promise.all(workspaces.ids().map((ws) => keys.settled(ws)))
      await documents.settle()
    },
    stats: () => ({
      gossip: gossip.stats,
      live: live.stats,
      catchup: catchup.stats,
      limits: net.limits.stats,
      gate: net.gate.stats,
      held: heldChangesOf({ workspaces, keys, documents, store, log }).size,
      runs: { ...documents.runStats },
      covers: { ...documents.coverStats },
      addresses: { ...addresses.stats },
      mapped: portMapper.mappings(),
    }),
    async stop() {
      if (stopped) return
      stopped = true
      // A start under way ends first (or fails): then everything it started is stopped below.
      await online.catch(() => {})
      // Own keys typed with a teammate online go under covers while the teammates can still be sent them.
      await documents.coverWaiting()
      rounds.stop()
      clearInterval(directTicker)
      presence.stop()
      for (const t of activityDue.values()) clearTimeout(t)
      connections.stop()
      addresses.stop()
      relaySlot.stop()
      reachability.stop()
      await portMapper.stop()
      net.limits.stop()
      gossip.stop()
      await live.stop()
      keys.stop()
      await Promise.all(workspaces.ids().map((ws) => keys.settled(ws)))
      // The network first, so that nothing arrives for a store being closed; what did arrive is
      // committed by documents.close().
      await node.stop()
      await documents.close()
      await search.stop()
      await history.stop()
      listEvents.cancel()
      syncEvents.cancel()
      store.close()
      lock.release()
      log('info', 'peer stopped')
    },
  }
}

/**
 * The port to listen on: the one asked for; else the one this profile listened on last (teammates may
 * know the device there), if it is still free; else any. A port taken between this look and the node's
 * start fails the start.
 */
async function portToListenOn(host: string, asked: number | undefined, remembered: number, log: Log): Promise<number> {
  if (asked !== undefined) return asked
  if (remembered === 0) return 0
  const taken = await new Promise<string | null>((resolve) => {
    const server = createServer()
    server.once('error', (err) => resolve(err.message))
    server.listen({ port: remembered, host, exclusive: true }, () => server.close(() => resolve(null)))
  })
  if (taken === null) return remembered
  log('warn', `port ${remembered} is taken (${taken}); listening on a new one`)
  return 0
}

/** One leading-and-trailing throttle per key (a workspace, a document), made when the key is first noted. */
function paced(ms: number, fire: (key: string) => void): { note: (key: string) => void; cancel: () => void } {
  const byKey = new Map<string, Throttled<[]>>()
  return {
    note: (key) => {
      let t = byKey.get(key)
      if (!t) {
        t = throttle(() => fire(key), ms)
        byKey.set(key, t)
      }
      t()
    },
    cancel: () => {
      for (const t of byKey.values()) t.cancel()
    },
  }
}
