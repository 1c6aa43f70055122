/**
 * Limits for peers that share no workspace with us ("strangers"): they get the join protocol and
 * nothing else, within limits that never take a teammate's slot.
 *
 * - Connections: after the Noise handshake (the first moment the remote's PeerId is proven) a
 *   connection gater admits every teammate, and strangers only while all strangers' inbound
 *   connections stay under a small cap (and a lower one per stranger). Teammates' connections are
 *   tagged so libp2p prunes strangers first, and strangers' inbound connections are closed after a
 *   while unless a join of theirs waits for a person.
 * - Streams: `guardStreams` wraps a protocol's handler where it is registered: a token bucket per
 *   peer, one shared by all strangers, and a deadline for a stranger's stream. Refusals are counted
 *   per kind and source in the log (`tallyLog`), never a line each.
 * - Bounded tables: the rate limiter and admission tracking forget the oldest beyond a cap; strangers
 *   are dropped from libp2p's peer store when they disconnect.
 */
import type { Connection, ConnectionGater, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { tallyLog, type Log, type Tally } from '../log.ts'
import { ADDRS_PROTOCOL, CATCHUP_PROTOCOL, JOIN_PROTOCOL, LIVE_PROTOCOL } from '../wire/peer-protocol.ts'
import type { GrapevineNode } from './node.ts'

/** A token bucket: `burst` at once, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number
  private at: number
  private readonly burst: number
  private readonly perSecond: number

  constructor(burst: number, perSecond: number, now = Date.now()) {
    this.burst = burst
    this.perSecond = perSecond
    this.tokens = burst
    this.at = now
  }

  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Full again: forgetting it changes nothing. */
  full(now = Date.now()): boolean {
    return this.tokens + ((now - this.at) / 1000) * this.perSecond >= this.burst
  }
}

/** Token buckets per key, at most `maxKeys` of them (full ones are dropped first, then the least recently used). */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()
  private readonly burst: number
  private readonly perSecond: number
  private readonly maxKeys: number

  constructor(burst: number, perSecond: number, maxKeys = 1024) {
    this.burst = burst
    this.perSecond = perSecond
    this.maxKeys = maxKeys
  }

  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key)
    if (b) this.buckets.delete(key)
    else {
      if (this.buckets.size >= this.maxKeys) this.evict(now)
      b = new TokenBucket(this.burst, this.perSecond, now)
    }
    // Re-inserted: the map's order is least recently used first.
    this.buckets.set(key, b)
    return b.take(now)
  }

  get size(): number {
    return this.buckets.size
  }

  /** Drops full buckets, then the least recently used tenth, so that a flood of keys pays for one scan per many. */
  private evict(now: number): void {
    for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k)
    while (this.buckets.size >= this.maxKeys * 0.9) this.buckets.delete(this.buckets.keys().next().value!)
  }
}

/** Per-protocol stream limits. */
export interface StreamLimit {
  /** Each peer: a burst of streams, then this many per second. */
  burst: number
  perSecond: number
  /** All strangers together. */
  strangersBurst: number
  strangersPerSecond: number
  /** A stranger's stream is aborted after this long, unless `lingerWhile` says it waits for a person. */
  strangerDeadlineMs: number
}

export interface PeerLimitsOptions {
  /** Inbound connections of all strangers together. */
  maxStrangerConnections: number
  /** Inbound connections of one stranger. */
  maxConnectionsPerStranger: number
  /** A stranger's inbound connection is closed after this long (unless a join of theirs waits). */
  strangerConnectionMaxAgeMs: number
  /** How often strangers' connections are checked. */
  sweepEveryMs: number
  streams: Record<string, StreamLimit>
  /**
   * A test seam, never set by the app: peers for which it returns true are refused every connection,
   * dialled or inbound, teammates too (the convergence simulation partitions the network with it; the
   * test hangs up the connections already open).
   */
  deny?: (peerId: string) => boolean
}

/**
 * Join: a joiner retries a few times with backoff; catch-up: a teammate runs one per shared workspace per connect and every 30 s;
 * live: one stream per connection, opened again only after it broke (a stranger's is ended at once by its handler).
 */
const DEFAULT_STREAMS: Record<string, StreamLimit> = {
  [LIVE_PROTOCOL]: { burst: 8, perSecond: 1, strangersBurst: 4, strangersPerSecond: 1, strangerDeadlineMs: 1_000 },
  [JOIN_PROTOCOL]: { burst: 6, perSecond: 0.5, strangersBurst: 20, strangersPerSecond: 2, strangerDeadlineMs: 10_000 },
  [CATCHUP_PROTOCOL]: { burst: 16, perSecond: 2, strangersBurst: 30, strangersPerSecond: 3, strangerDeadlineMs: 5_000 },
  // A frame on connect and on each change of anyone's addresses (its handler ends a stranger's at once).
  [ADDRS_PROTOCOL]: { burst: 16, perSecond: 2, strangersBurst: 4, strangersPerSecond: 1, strangerDeadlineMs: 1_000 },
}

export const DEFAULT_PEER_LIMITS: PeerLimitsOptions = {
  maxStrangerConnections: 32,
  maxConnectionsPerStranger: 2,
  strangerConnectionMaxAgeMs: 2 * 60_000,
  sweepEveryMs: 5_000,
  streams: DEFAULT_STREAMS,
}

/**
 * libp2p's own connection-manager limits, before anyone's PeerId is known (so they apply to teammates
 * too). Loose enough that teammates on one address (loopback in tests, a NAT) are not starved:
 * libp2p's default of 5 inbound connections per second per address broke joins of 8 peers on
 * 127.0.0.1; the PeerId-based limits above do the real work.
 */
export const CONNECTION_MANAGER_LIMITS = {
  maxConnections: 200,
  maxIncomingPendingConnections: 16,
  inboundConnectionThreshold: 30,
  /** A handshake on a LAN takes milliseconds; a stalled one holds a pending slot only this long. */
  inboundUpgradeTimeout: 5_000,
}

/** (kind, source) pairs logged with a line of their own per summary interval (10 s). */
export const REFUSAL_SOURCES_LOGGED = 32
const TEAMMATE_TAG = 'grapevine-teammate'
const TEAMMATE_TAG_VALUE = 100
/** A stranger admitted at the gate whose connection did not open within this long is no longer counted. */
const PENDING_MS = 10_000

const guards = new WeakMap<object, PeerLimits>()

/**
 * Wraps a protocol's inbound stream handler with the limits of the node's `PeerLimits` (which must be
 * attached first: an unguarded registration throws instead of running without limits).
 */
export function guardStreams(node: GrapevineNode, protocol: string, handler: StreamHandler): StreamHandler {
  const limits = guards.get(node)
  if (!limits) throw new Error(`no PeerLimits attached to this node; attach one before registering ${protocol}`)
  return limits.wrap(protocol, handler)
}

/** The `PeerLimits` attached to a node (for protocols that refuse strangers themselves and count it). */
export function peerLimitsOf(node: GrapevineNode): PeerLimits | undefined {
  return guards.get(node)
}

/** What the limits on strangers are kept with (libp2p-style components; options apart, as a service's init). */
export interface PeerLimitsComponents {
  /** This device's teammates in any workspace, now: they are never limited as strangers are. */
  teammates: () => Set<string>
  log: Log
}

export class PeerLimits {
  readonly stats = { connectionsRefused: 0, connectionsClosed: 0, streamsRefused: 0, streamsTimedOut: 0 }
  private readonly opts: PeerLimitsOptions
  private readonly teammates: () => Set<string>
  private readonly refusals: Tally
  private readonly perPeer = new Map<string, RateLimiter>()
  private readonly strangers = new Map<string, TokenBucket>()
  private readonly lingering = new Map<string, (peerId: string) => boolean>()
  private pending: { id: string; at: number }[] = []
  private known = new Set<string>()
  private node: GrapevineNode | null = null
  private timer: NodeJS.Timeout | null = null

  /** For `createNode`: admits teammates always, strangers within the caps (and no one `deny` names). */
  readonly gater: ConnectionGater = {
    denyDialPeer: (peerId: PeerId) => this.denied(peerId),
    denyInboundEncryptedConnection: (peerId: PeerId) => this.denied(peerId) || this.denyStranger(peerId),
    denyOutboundEncryptedConnection: (peerId: PeerId) => this.denied(peerId),
    // Relaying (net/relay.ts) is for members only: a slot on this peer, a connection through it (both
    // ends must be teammates of this relay), and a connection reaching this device through any relay.
    denyInboundRelayReservation: (peerId: PeerId) => !this.isTeammate(peerId.toString()),
    denyOutboundRelayedConnection: (source: PeerId, target: PeerId) =>
      !this.isTeammate(source.toString()) || !this.isTeammate(target.toString()),
    denyInboundRelayedConnection: (_relay: PeerId, remote: PeerId) => !this.isTeammate(remote.toString()),
  }

  constructor(components: PeerLimitsComponents, opts: Partial<PeerLimitsOptions> = {}) {
    const { teammates, log } = components
    this.opts = { ...DEFAULT_PEER_LIMITS, ...opts, streams: { ...DEFAULT_STREAMS, ...opts.streams } }
    this.teammates = teammates
    // Strangers' PeerIds cost nothing to make: a line each for the first few (kind, source) pairs per
    // summary interval, the rest only counted in the summary.
    this.refusals = tallyLog(log, 'refused', { maxKeys: REFUSAL_SOURCES_LOGGED })
    for (const [protocol, l] of Object.entries(this.opts.streams)) {
      this.perPeer.set(protocol, new RateLimiter(l.burst, l.perSecond))
      this.strangers.set(protocol, new TokenBucket(l.strangersBurst, l.strangersPerSecond))
    }
    this.known = teammates()
  }

  isTeammate(peerId: string): boolean {
    return this.known.has(peerId)
  }

  /** Counts a refusal (one log line per kind and source, then periodic counts). */
  note(kind: string, source: string, detail: string): void {
    this.refusals.note(kind, source, detail)
  }

  /** While `waits(peer)`, a stranger's streams of `protocol` and its connection are not cut (a join waiting for a person). */
  lingerWhile(protocol: string, waits: (peerId: string) => boolean): void {
    this.lingering.set(protocol, waits)
  }

  /** Starts tagging and sweeping on `node`; call before the node starts and before protocols are registered. */
  attach(node: GrapevineNode): void {
    this.node = node
    guards.set(node, this)
    node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      const id = conn.remotePeer.toString()
      if (conn.direction === 'inbound') {
        const i = this.pending.findIndex((p) => p.id === id)
        if (i >= 0) this.pending.splice(i, 1)
      }
      if (this.isTeammate(id)) this.tag(conn.remotePeer, true)
    })
    node.addEventListener('peer:disconnect', (evt) => {
      // Strangers are not remembered: libp2p keeps every peer it met (addresses, protocols, keys) in memory.
      if (!this.isTeammate(evt.detail.toString())) void node.peerStore.delete(evt.detail).catch(() => {})
    })
    // Attached again only when a first node could not listen (its port taken) and a new one is made.
    if (this.timer) clearInterval(this.timer)
    this.timer = setInterval(() => this.sweep(), this.opts.sweepEveryMs)
    this.timer.unref()
  }

  /** Membership changed: teammates are re-tagged, and connections of peers who are now strangers fall under the caps. */
  refresh(): void {
    const before = this.known
    this.known = this.teammates()
    const node = this.node
    if (!node) return
    for (const id of this.known) if (!before.has(id)) this.tagById(id, true)
    for (const id of before) if (!this.known.has(id)) this.tagById(id, false)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.refusals.stop()
  }

  wrap(protocol: string, handler: StreamHandler): StreamHandler {
    const limit = this.opts.streams[protocol]
    if (!limit) throw new Error(`no stream limits for ${protocol}`)
    const perPeer = this.perPeer.get(protocol)!
    const strangers = this.strangers.get(protocol)!
    return async (stream: Stream, connection: Connection) => {
      const id = connection.remotePeer.toString()
      const teammate = this.isTeammate(id)
      if (!perPeer.take(id) || (!teammate && !strangers.take())) {
        this.stats.streamsRefused++
        this.note(`${protocol} rate-limited`, id, `over the ${teammate ? '' : "peer's or all strangers' "}stream rate limit`)
        stream.abort(new Error('rate limited'))
        return
      }
      if (teammate) return handler(stream, connection)
      // A stranger's stream gets a short deadline; a join waiting for a person to accept it may wait longer.
      const waits = this.lingering.get(protocol)
      let timer: NodeJS.Timeout | undefined
      const check = (): void => {
        if (waits?.(id)) {
          timer = setTimeout(check, limit.strangerDeadlineMs)
          return
        }
        this.stats.streamsTimedOut++
        this.note(`${protocol} timed out`, id, `a stranger's stream was still open after ${limit.strangerDeadlineMs / 1000} s`)
        stream.abort(new Error("a stranger's stream timed out"))
      }
      timer = setTimeout(check, limit.strangerDeadlineMs)
      try {
        await handler(stream, connection)
      } finally {
        clearTimeout(timer)
      }
    }
  }

  private denied(peerId: PeerId): boolean {
    return this.opts.deny?.(peerId.toString()) ?? false
  }

  private denyStranger(peerId: PeerId): boolean {
    const id = peerId.toString()
    if (this.isTeammate(id)) return false
    const now = Date.now()
    this.pending = this.pending.filter((p) => now - p.at < PENDING_MS)
    const open = this.strangerConnections()
    const total = open.length + this.pending.length
    const theirs = open.filter((c) => c.remotePeer.equals(peerId)).length + this.pending.filter((p) => p.id === id).length
    if (total >= this.opts.maxStrangerConnections || theirs >= this.opts.maxConnectionsPerStranger) {
      this.stats.connectionsRefused++
      this.note(
        'connection',
        id,
        `strangers' connections are at their limit (${total} of ${this.opts.maxStrangerConnections}, this one's ${theirs})`,
      )
      return true
    }
    this.pending.push({ id, at: now })
    return false
  }

  private strangerConnections(): Connection[] {
    return (this.node?.getConnections() ?? []).filter((c) => c.direction === 'inbound' && !this.isTeammate(c.remotePeer.toString()))
  }

  /** Closes strangers' inbound connections that are too old, or over the caps (a removed member's, say), oldest first. */
  private sweep(): void {
    const now = Date.now()
    const waits = [...this.lingering.values()]
    const open = this.strangerConnections()
      .filter((c) => c.status === 'open')
      .sort((a, b) => a.timeline.open - b.timeline.open)
    let over = open.length - this.opts.maxStrangerConnections
    for (const c of open) {
      const id = c.remotePeer.toString()
      const old = now - c.timeline.open > this.opts.strangerConnectionMaxAgeMs
      if (!(over > 0 || old) || waits.some((w) => w(id))) continue
      over--
      this.stats.connectionsClosed++
      this.note('connection closed', id, old ? "a stranger's connection reached its age limit" : "over the strangers' connection limit")
      void c.close().catch(() => c.abort(new Error('closed')))
    }
  }

  private tagById(id: string, on: boolean): void {
    const conn = this.node?.getConnections().find((c) => c.remotePeer.toString() === id)
    if (conn) this.tag(conn.remotePeer, on)
  }

  /** libp2p's pruner closes the lowest-valued peers first: teammates are worth more than any stranger. */
  private tag(peer: PeerId, on: boolean): void {
    void this.node?.peerStore.merge(peer, { tags: { [TEAMMATE_TAG]: on ? { value: TEAMMATE_TAG_VALUE } : undefined } }).catch(() => {})
  }
}
