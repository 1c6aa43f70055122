/**
 * The libp2p node: TCP and circuit relay v2, Noise, Yamux, identify, gossipsub, (optionally) mDNS,
 * and, on a peer that relays for its teammates, the relay server (net/relay.ts).
 * This is the only file that imports gossipsub, so swapping its implementation is one line.
 */
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify, type Identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub, type Message, type TopicValidatorResult } from '@libp2p/gossipsub'
import type { ComponentLogger, ConnectionGater, Ed25519PrivateKey, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { GOSSIPSUB_MAX_INBOUND_BYTES } from '../../../shared/limits.ts'
import { CONNECTION_MANAGER_LIMITS } from './limits.ts'
import { oneWrite } from './one-write.ts'
import type { RelayPlan } from './relay.ts'
import './yamux-window.ts' // a workaround for @libp2p/yamux's window updates (see there)

/**
 * libp2p's loggers, silent unless `DEBUG` asks for them. libp2p makes a logger for every stream it opens
 * (`newScope`), and `@libp2p/logger` builds two `debug` instances for each, asking the terminal for its
 * colours every time: 2.5% of the CPU of a peer syncing with teammates (measured in the convergence
 * simulation) for lines nobody reads. With `DEBUG` set, libp2p's own logger is used as before.
 */
function quietLogger(): ComponentLogger | undefined {
  if (process.env['DEBUG']) return undefined
  const log: Logger = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => log })
  return { forComponent: () => log }
}

export type { GossipSub, Message as GossipsubMessage }
export type GrapevineNode = Libp2p<{ identify: Identify; pubsub: GossipSub }>

/** Gossipsub's validation verdicts (its enum's string values). */
export const VERDICT = {
  accept: 'accept' as TopicValidatorResult,
  ignore: 'ignore' as TopicValidatorResult,
  reject: 'reject' as TopicValidatorResult,
}

export interface NodeOptions {
  privateKey: Ed25519PrivateKey
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0. */
  listen: string[]
  mdns: boolean
  /** Score given by the app to a peer: members 0, strangers far below the graylist threshold. */
  appScore: (peerId: string) => number
  /** Relay for teammates, and keep a slot on one (net/relay.ts); by default neither. */
  relay?: RelayPlan
  /** Relays a person named (`--relay`): the node keeps a slot on one of them once connected, whoever runs it. */
  relays?: string[]
  /** Admits or refuses connections once the remote's PeerId is proven (limits.ts: strangers within caps). */
  gater?: ConnectionGater
  /**
   * Runs after the node is built and before it starts listening, so that guards (the topic gate,
   * stream limits) are in place before the first peer can say anything.
   */
  beforeStart?: (node: GrapevineNode) => void
}

/** Builds and starts a node. */
export async function createNode(opts: NodeOptions): Promise<GrapevineNode> {
  const node = await buildNode(opts)
  await startNode(node)
  return node
}

/** Starts a node `buildNode` made; if it cannot (its port is taken), stops what did start and throws. */
export async function startNode(node: GrapevineNode): Promise<void> {
  try {
    await node.start()
  } catch (err) {
    await Promise.resolve(node.stop()).catch(() => {})
    throw err
  }
}

/**
 * Builds a node without starting it: nothing listens or dials yet, and its guards (`beforeStart`) are in
 * place before `startNode`.
 */
export async function buildNode(opts: NodeOptions): Promise<GrapevineNode> {
  const logger = quietLogger()
  const node = await createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    ...(logger ? { logger } : {}),
    addresses: {
      listen: [
        ...opts.listen,
        // A slot on a relay among the peers connected: a teammate's (the gater lets only those say yes to a
        // member), or one a person named (dialled at start, peer.ts). Not the named relay's own circuit
        // address: listening there fails the node's start whenever that relay is down.
        ...(opts.relay?.reserve || opts.relays?.length ? ['/p2p-circuit'] : []),
      ],
    },
    transports: [tcp(), circuitRelayTransport({ reservationCompletionTimeout: 10_000 })],
    connectionEncrypters: [oneWrite(noise())],
    streamMuxers: [yamux()],
    peerDiscovery: opts.mdns ? [mdns({ interval: 10_000 })] : [],
    connectionManager: CONNECTION_MANAGER_LIMITS,
    ...(opts.gater ? { connectionGater: opts.gater } : {}),
    services: {
      ...(opts.relay?.serve
        ? {
            relay: circuitRelayServer({
              // Members only (the gater), so no data or time limit: a relayed teammate is a full connection.
              reservations: { maxReservations: 64, applyDefaultLimit: false },
            }),
          }
        : {}),
      identify: identify(),
      ownAddresses: confirmListening,
      pubsub: gossipsub({
        emitSelf: false,
        // Publishing before the mesh has formed must not fail: catch-up fills any gap.
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        // Our own validator checks size, shape, membership and signatures before anything is forwarded.
        asyncValidation: false,
        // One signature per message: what needs an author carries its author's own (a change, a membership op,
        // heads and presence, sync/gossip.ts), so gossipsub adds none. Its signature and check cost a KeyObject
        // made from the raw key for every sign and every verify (in W7's profile of a receiving peer, 4.3 s of
        // 78 s busy). A message is known by its content: two copies of it are the same bytes on the same topic,
        // and a forged copy with the same id would need a SHA-256 collision. Every teammate is a direct peer, so
        // each message comes once per forwarder; the fast id finds those copies before anything else.
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: (m) => contentId(m.topic, m.data),
        fastMsgIdFn: (m) => Buffer.from(contentId(m.topic, m.data ?? new Uint8Array(0))).toString('base64'),
        maxInboundDataLength: GOSSIPSUB_MAX_INBOUND_BYTES,
        maxOutboundBufferSize: 16 * 1024 * 1024,
        scoreParams: {
          appSpecificScore: (peerId: string) => opts.appScore(peerId),
          appSpecificWeight: 1,
          // Gossipsub keeps a disconnected peer's negative score (every stranger's) for an hour by default: with
          // a fresh PeerId per connection that is a table growing with each one. Our own strikes (scoring.ts)
          // outlive a reconnect anyway, and a stranger is -1000 whenever it comes back.
          retainScore: 5 * 60_000,
        },
        // See scoring.ts for what these thresholds mean for strangers and teammates.
        scoreThresholds: {
          gossipThreshold: -10,
          publishThreshold: -50,
          graylistThreshold: -5000,
          acceptPXThreshold: 10,
          opportunisticGraftThreshold: 20,
        },
      }),
    },
  })
  opts.beforeStart?.(node)
  return node
}

/** As long as a confirmation can last (the largest Date, as libp2p's own port mapper uses). */
const FOREVER_MS = 8_640_000_000_000_000

interface ListeningComponents {
  addressManager: { confirmObservedAddr(addr: Multiaddr, options?: { type?: 'transport'; ttl?: number }): void }
  transportManager: { getAddrs(): Multiaddr[] }
  events: EventTarget
}

/**
 * libp2p 3 announces a public address it listens on only once something (AutoNAT, which Grapevine does not
 * run) confirmed that others reach it there, so a peer on a public address would put no address in its
 * invites or its address record. Grapevine hands its addresses to members only, and they simply try each,
 * so every address this node listens on is taken as its own as soon as it listens.
 */
function confirmListening(components: ListeningComponents): { start(): void; stop(): void } {
  const confirm = (): void => {
    for (const ma of components.transportManager.getAddrs()) {
      if (ma.getComponents().some((c) => c.name === 'p2p-circuit')) continue
      components.addressManager.confirmObservedAddr(ma, { type: 'transport', ttl: FOREVER_MS - Date.now() })
    }
  }
  return {
    start: () => components.events.addEventListener('transport:listening', confirm),
    stop: () => components.events.removeEventListener('transport:listening', confirm),
  }
}

/** A gossip message's id: the SHA-256 of its topic and its bytes. */
function contentId(topic: string, data: Uint8Array): Uint8Array {
  return createHash('sha256')
    .update(topic)
    .update(new Uint8Array([0]))
    .update(data)
    .digest()
}

/**
 * Makes exactly `ids` gossipsub's direct peers: they get every message we publish or forward,
 * whatever the mesh, so a teammate who was a stranger a moment ago (and was pruned then, with a
 * backoff) is not left to gossip's once-a-second repair. Gossipsub takes direct peers only at
 * construction; its `direct` set is the live list, checked here so an upgrade that renames it fails loudly.
 */
export function setDirectPeers(pubsub: GossipSub, ids: Set<string>): void {
  const direct = (pubsub as unknown as { direct?: unknown }).direct
  if (!(direct instanceof Set)) throw new Error('this gossipsub has no direct-peer set; update setDirectPeers in net/node.ts')
  for (const id of [...direct]) if (!ids.has(id)) direct.delete(id)
  for (const id of ids) direct.add(id)
}
