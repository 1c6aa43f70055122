/**
 * Who we are connected to, and keeping it that way: dial what mDNS finds (discovery is not trust:
 * a connection grants nothing, membership does), dial addresses people give us, and redial known
 * teammates with exponential backoff.
 */
import { EventEmitter } from 'node:events'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { PeerStore } from '../store/types.ts'
import type { Log } from '../log.ts'
import type { GrapevineNode } from './node.ts'
import { dialable } from './addresses.ts'

const REDIAL_TICK_MS = 5_000
const BACKOFF_MIN_MS = 2_000
const BACKOFF_MAX_MS = 5 * 60_000

export interface ConnectionEvents {
  connect: [peer: PeerId]
  disconnect: [peer: PeerId]
}

export class Connections extends EventEmitter<ConnectionEvents> {
  private readonly backoff = new Map<string, { next: number; delay: number }>()
  private timer: NodeJS.Timeout | null = null
  private readonly node: GrapevineNode
  private readonly store: PeerStore
  private readonly teammates: () => Set<string>
  private readonly log: Log

  constructor(node: GrapevineNode, store: PeerStore, teammates: () => Set<string>, log: Log) {
    super()
    this.node = node
    this.store = store
    this.teammates = teammates
    this.log = log
  }

  start(): void {
    this.node.addEventListener('peer:discovery', (evt) => {
      const { id, multiaddrs } = evt.detail
      if (id.equals(this.node.peerId) || this.isConnected(id.toString())) return
      this.log('debug', `discovered ${id} on the LAN; dialling`)
      this.node.dial(multiaddrs.length ? multiaddrs : id).catch((err: Error) => this.log('debug', `dial ${id}: ${err.message}`))
    })
    this.node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      const id = conn.remotePeer.toString()
      this.backoff.delete(id)
      // An inbound connection's address is the remote's ephemeral port; identify tells its listen addresses.
      const addrs = conn.direction === 'outbound' ? [conn.remoteAddr.toString()] : []
      void this.store.write(() => this.store.notePeerSeen(id, addrs, Date.now())).catch(() => {})
    })
    this.node.addEventListener('peer:identify', (evt) => {
      const addrs = evt.detail.listenAddrs.map((a) => a.toString()).filter((a) => !a.includes('/tcp/0'))
      void this.store.write(() => this.store.notePeerSeen(evt.detail.peerId.toString(), addrs, Date.now())).catch(() => {})
    })
    this.node.addEventListener('peer:connect', (evt) => {
      this.log('info', `connected to ${evt.detail}`)
      this.emit('connect', evt.detail)
    })
    this.node.addEventListener('peer:disconnect', (evt) => {
      this.log('info', `disconnected from ${evt.detail}`)
      void this.store.write(() => this.store.notePeerSeen(evt.detail.toString(), [], Date.now())).catch(() => {})
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

  /** Dials every teammate we know an address for and are not connected to, each on its own backoff. */
  private redial(): void {
    const now = Date.now()
    for (const id of this.teammates()) {
      if (this.isConnected(id)) continue
      const b = this.backoff.get(id) ?? { next: 0, delay: BACKOFF_MIN_MS }
      if (b.next > now) continue
      const addrs = this.store.getPeer(id)?.addresses ?? []
      if (addrs.length === 0) continue
      this.backoff.set(id, { next: now + b.delay, delay: Math.min(b.delay * 2, BACKOFF_MAX_MS) })
      const targets = dialable(addrs, id)
      if (targets.length === 0) continue
      this.node
        .dial(targets, { signal: AbortSignal.timeout(10_000) })
        .catch((err: Error) => this.log('debug', `redial ${id}: ${err.message}`))
    }
  }
}
