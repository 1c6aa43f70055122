/**
 * Who we are connected to, and keeping it that way: dial teammates that mDNS finds (discovery is not
 * trust: a connection grants nothing, membership does), dial addresses people give us, and redial known
 * teammates with exponential backoff. Only teammates are remembered on disk: a stranger (a peer that
 * shares no workspace with us) leaves no row in the store, and one that mDNS finds is kept in a small
 * bounded memory in case it becomes a teammate.
 */
import { EventEmitter } from 'node:events'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Durable, PeerBook } from '../store/types.ts'
import type { Log } from '../log.ts'
import type { GrapevineNode } from './node.ts'
import { dialable } from './addresses.ts'
import { kindOf } from './relay.ts'

const REDIAL_TICK_MS = 5_000
const BACKOFF_MIN_MS = 2_000
const BACKOFF_MAX_MS = 5 * 60_000
/** Strangers found on the LAN, remembered (in memory, oldest forgotten first) in case they become teammates. */
const MAX_FOUND = 64
const FOUND_TTL_MS = 10 * 60_000
/** A teammate reached through a relay is tried at its direct addresses this often at first, then less often. */
const UPGRADE_MIN_MS = 15_000
/** How long streams on a relayed connection get to finish once a direct one took its place. */
const RELAYED_CLOSE_MS = 5_000

export interface ConnectionEvents {
  connect: [peer: PeerId]
  disconnect: [peer: PeerId]
}

/** What connections are kept from (libp2p-style components, as the other parts of a peer). */
export interface ConnectionsComponents {
  node: GrapevineNode
  store: Durable & PeerBook
  /** This device's teammates in any workspace, now. */
  teammates: () => Set<string>
  log: Log
  /** Where a teammate says it can be reached (net/address-book.ts), besides where it was seen. */
  announced?: (peerId: string) => string[]
}

export class Connections extends EventEmitter<ConnectionEvents> {
  private readonly backoff = new Map<string, { next: number; delay: number }>()
  /** Direct dials to teammates reached only through a relay, each on its own backoff. */
  private readonly upgrades = new Map<string, { next: number; delay: number }>()
  private readonly found = new Map<string, { addrs: Multiaddr[]; at: number }>()
  private known = new Set<string>()
  /** Peers to keep connected whoever they are (relays a person named), by PeerId. */
  private readonly pinned = new Map<string, string>()
  private timer: NodeJS.Timeout | null = null
  private readonly node: GrapevineNode
  private readonly store: Durable & PeerBook
  private readonly teammates: () => Set<string>
  private readonly log: Log

  /** Where a teammate says it can be reached (net/address-book.ts), besides where it was seen. */
  private readonly announced: (peerId: string) => string[]

  constructor(components: ConnectionsComponents) {
    super()
    const { node, store, teammates, log, announced = () => [] } = components
    this.node = node
    this.store = store
    this.teammates = teammates
    this.log = log
    this.announced = announced
    this.known = teammates()
  }

  /**
   * Keeps these addresses connected (relays a person named): dialled now, and again on the teammates'
   * backoff whenever their peer is not connected.
   */
  pin(addresses: string[]): void {
    for (const a of addresses) {
      const peer = multiaddr(a)
        .getComponents()
        .findLast((c) => c.name === 'p2p')?.value
      if (peer) this.pinned.set(peer, a)
      else this.log('warn', `${a} does not say which peer it is (it should end in /p2p/<peer id>); not kept`)
    }
    this.redial()
  }

  /** Where a peer was last seen (newest first), then where it says it can be reached. */
  addressesOf(peerId: string): string[] {
    return [...new Set([...(this.store.getPeer(peerId)?.addresses ?? []), ...this.announced(peerId)])]
  }

  /**
   * How this device is connected to `peerId` now (null: it is not): the best of its open connections,
   * a direct one over a relayed one.
   */
  reach(peerId: string): { how: 'lan' | 'internet' | 'relayed'; relayedBy: string | null } | null {
    const open = this.node.getConnections().filter((c) => c.status === 'open' && c.remotePeer.toString() === peerId)
    const direct = open.find((c) => c.direct)
    if (direct) {
      const ip = direct.remoteAddr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value ?? ''
      return { how: kindOf(ip) === 'public' ? 'internet' : 'lan', relayedBy: null }
    }
    const relayed = open[0]
    if (!relayed) return null
    const relay = relayed.remoteAddr.getComponents().find((c) => c.name === 'p2p')?.value ?? null
    return { how: 'relayed', relayedBy: relay }
  }

  /** Why a teammate is not connected, in words a person can act on. */
  whyUnreachable(peerId: string): string {
    const addrs = this.addressesOf(peerId)
    if (addrs.length === 0)
      return 'No address is known for this teammate yet: it has not been online at the same time as you or any teammate you reached.'
    if (!addrs.some((a) => a.includes('/p2p-circuit')))
      return 'Not reachable at its addresses: it may be offline, or behind a NAT and no teammate can relay; ask someone with a reachable peer to turn on relay.'
    return 'Not reachable directly or through its relay: it is probably offline, or its relay is.'
  }

  /**
   * Dials a teammate now, whatever its backoff (it just told us new addresses): one not connected, or
   * one reached only through a relay at its direct addresses.
   */
  dialNow(peerId: string): void {
    this.backoff.delete(peerId)
    this.upgrades.delete(peerId)
    this.redial(peerId)
  }

  start(): void {
    this.node.addEventListener('peer:discovery', (evt) => {
      const { id, multiaddrs } = evt.detail
      const peer = id.toString()
      if (id.equals(this.node.peerId) || this.isConnected(peer)) return
      if (!this.known.has(peer)) {
        this.remember(peer, multiaddrs)
        return
      }
      this.log('debug', `discovered teammate ${id} on the LAN; dialling`)
      this.node.dial(multiaddrs.length ? multiaddrs : id).catch((err: Error) => this.log('debug', `dial ${id}: ${err.message}`))
    })
    this.node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      const id = conn.remotePeer.toString()
      this.backoff.delete(id)
      if (!this.known.has(id)) return
      if (conn.direct) this.dropRelayed(id)
      // An inbound connection's address is the remote's ephemeral port; identify tells its listen addresses.
      const addrs = conn.direction === 'outbound' ? [conn.remoteAddr.toString()] : []
      this.noteSeen(id, addrs)
    })
    this.node.addEventListener('peer:identify', (evt) => {
      const id = evt.detail.peerId.toString()
      if (this.known.has(id)) this.noteSeen(id, listenAddrs(evt.detail.listenAddrs))
    })
    // A line per stranger's connection would let anyone write our log; they are debug.
    this.node.addEventListener('peer:connect', (evt) => {
      this.log(this.known.has(evt.detail.toString()) ? 'info' : 'debug', `connected to ${evt.detail}`)
      this.emit('connect', evt.detail)
    })
    this.node.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString()
      const teammate = this.known.has(id)
      this.log(teammate ? 'info' : 'debug', `disconnected from ${evt.detail}`)
      if (teammate) this.noteSeen(id, [])
      this.emit('disconnect', evt.detail)
    })
    this.timer = setInterval(() => this.redial(), REDIAL_TICK_MS)
    this.redial()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  isConnected(peerId: string): boolean {
    return this.node.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')
  }

  connectedPeers(): PeerId[] {
    return this.node.getPeers()
  }

  /** Dials an address a person typed; it must name the peer (/p2p/…). */
  async dialAddress(address: string, signal = AbortSignal.timeout(10_000)): Promise<string> {
    const ma = multiaddr(address)
    const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (!peer) throw new Error(`${address} does not say which peer it is (it should end in /p2p/<peer id>)`)
    const conn = await this.node.dial(ma, { signal })
    await this.store.write(() => this.store.notePeerSeen(peer, [ma.toString()], Date.now()))
    return conn.remotePeer.toString()
  }

  /**
   * Membership changed: a new teammate we are connected to is remembered now (its connection opened,
   * and identify ran, while it was a stranger), and one that mDNS found earlier is dialled.
   */
  membersChanged(): void {
    const before = this.known
    this.known = this.teammates()
    for (const id of this.known) {
      if (before.has(id)) continue
      const conn = this.node.getConnections().find((c) => c.remotePeer.toString() === id && c.status === 'open')
      if (conn) {
        const outbound = conn.direction === 'outbound' ? [conn.remoteAddr.toString()] : []
        void this.node.peerStore
          .get(conn.remotePeer)
          .then(
            (p) => p.addresses.map((a) => a.multiaddr),
            () => [],
          )
          .then((addrs) => this.noteSeen(id, [...outbound, ...listenAddrs(addrs)]))
        continue
      }
      const found = this.found.get(id)
      this.found.delete(id)
      if (found && Date.now() - found.at < FOUND_TTL_MS) {
        this.node
          .dial(found.addrs, { signal: AbortSignal.timeout(10_000) })
          .catch((err: Error) => this.log('debug', `dial ${id}: ${err.message}`))
      }
    }
  }

  private remember(peer: string, addrs: Multiaddr[]): void {
    this.found.delete(peer)
    if (this.found.size >= MAX_FOUND) this.found.delete(this.found.keys().next().value!)
    this.found.set(peer, { addrs: addrs.slice(0, 8), at: Date.now() })
  }

  private noteSeen(id: string, addrs: string[]): void {
    void this.store.write(() => this.store.notePeerSeen(id, addrs, Date.now())).catch(() => {})
  }

  /**
   * Dials every teammate (or just `only`) we know an address for and are not connected to, each on its
   * own backoff: where it was last seen first, then where it says it can be reached.
   */
  private redial(only?: string): void {
    const now = Date.now()
    const teammates = this.teammates()
    for (const id of only === undefined ? [...teammates, ...this.pinned.keys()] : [only]) {
      if (!(teammates.has(id) || this.pinned.has(id))) continue
      if (this.isConnected(id)) {
        if (teammates.has(id)) this.upgrade(id, now)
        continue
      }
      const b = this.backoff.get(id) ?? { next: 0, delay: BACKOFF_MIN_MS }
      if (b.next > now) continue
      const pinned = this.pinned.get(id)
      const addrs = pinned ? [pinned, ...this.addressesOf(id)] : this.addressesOf(id)
      if (addrs.length === 0) continue
      this.backoff.set(id, { next: now + b.delay, delay: Math.min(b.delay * 2, BACKOFF_MAX_MS) })
      const targets = dialable(addrs, id)
      if (targets.length === 0) continue
      this.node
        .dial(targets, { signal: AbortSignal.timeout(10_000) })
        .catch((err: Error) => this.log('debug', `redial ${id}: ${err.message}`))
    }
  }

  /**
   * A teammate reached only through a relay is dialled at the direct addresses it announced (a router's
   * forwarded port, a public address). libp2p opens a direct connection beside an unlimited relayed one
   * when it is asked for a direct address; once it is open the relayed one is let go (`dropRelayed`), so
   * traffic stops going through the relay and the two stay connected when the relay goes away.
   */
  private upgrade(id: string, now: number): void {
    const open = this.openTo(id)
    if (open.length === 0 || open.some((c) => c.direct)) return
    const direct = dialable(
      this.addressesOf(id).filter((a) => !a.includes('/p2p-circuit')),
      id,
    )
    if (direct.length === 0) return
    const u = this.upgrades.get(id) ?? { next: 0, delay: UPGRADE_MIN_MS }
    if (u.next > now) return
    this.upgrades.set(id, { next: now + u.delay, delay: Math.min(u.delay * 2, BACKOFF_MAX_MS) })
    this.node
      .dial(direct, { signal: AbortSignal.timeout(10_000) })
      .then((conn) => {
        if (conn.direct) this.log('info', `reached ${id} directly at ${conn.remoteAddr} (it was reached through a relay)`)
      })
      .catch((err: Error) => this.log('debug', `direct dial to ${id}: ${err.message}`))
  }

  /** A direct connection to a teammate opened (either side dialled): its relayed ones are closed. */
  private dropRelayed(id: string): void {
    this.upgrades.delete(id)
    for (const c of this.openTo(id)) {
      if (c.direct) continue
      void c.close({ signal: AbortSignal.timeout(RELAYED_CLOSE_MS) }).catch((err: Error) => c.abort(err))
    }
  }

  private openTo(id: string): Connection[] {
    return this.node.getConnections().filter((c) => c.status === 'open' && c.remotePeer.toString() === id)
  }
}

/** Listen addresses worth dialling later (not a wildcard port). */
function listenAddrs(addrs: Multiaddr[]): string[] {
  return addrs.map((a) => a.toString()).filter((a) => !a.includes('/tcp/0'))
}
