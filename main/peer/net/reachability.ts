/**
 * Whether teammates can reach this device directly, from the team's own observations rather than a
 * stranger's (libp2p's AutoNAT asks any peer to dial back; a Grapevine peer talks only to teammates
 * and never to a public server). A teammate's direct connection coming in is the proof: from an
 * address outside this device's networks (a public one, as a NAT shows it), the device is reachable
 * from the internet; from a private one, on its LAN. Until a teammate has come in, the device can only
 * guess from its own addresses and its router's answer (net/relay.ts, net/port-mapping.ts), and says so.
 *
 * Kept in memory: a laptop's reachability changes with every network it joins, so an observation from
 * the last run would mislead.
 */
import { isIPv4, isIPv6 } from 'node:net'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { GrapevineNode } from './node.ts'
import type { PortMappingStatus } from './port-mapping.ts'
import { kindOf, type RelayPlan } from './relay.ts'

export interface ReachabilityStatus {
  state: 'internet' | 'lan' | 'unconfirmed' | 'local'
  /** One sentence a person can act on. */
  text: string
}

interface Seen {
  peer: string
  from: string
  at: number
}

/** The IP a connection came from, or null for a relayed one or a non-IP address. */
function remoteIp(addr: Multiaddr): string | null {
  const parts = addr.getComponents()
  if (parts.some((c) => c.name === 'p2p-circuit')) return null
  const ip = parts.find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
  return ip && (isIPv4(ip) || isIPv6(ip)) ? ip : null
}

/** What reachability is judged from (libp2p-style components, as the other parts of a peer). */
export interface ReachabilityComponents {
  node: GrapevineNode
  isTeammate: (peer: string) => boolean
  /** A teammate's name, for saying who reached this device. */
  nameOf: (peer: string) => string | null
}

export class Reachability {
  private internet: Seen | null = null
  private lan: Seen | null = null
  private readonly node: GrapevineNode
  private readonly isTeammate: (peer: string) => boolean
  private readonly nameOf: (peer: string) => string | null
  private readonly listener = (evt: CustomEvent<Connection>): void => this.observe(evt.detail)

  /** Notes a teammate's direct connection coming in. */
  private observe(conn: Connection): void {
    const peer = conn.remotePeer.toString()
    if (conn.direction !== 'inbound' || !conn.direct || !this.isTeammate(peer)) return
    const ip = remoteIp(conn.remoteAddr)
    if (!ip) return
    const kind = kindOf(ip)
    const seen = { peer, from: ip, at: Date.now() }
    if (kind === 'public') this.internet = seen
    else if (kind === 'private') this.lan = seen
  }

  constructor(components: ReachabilityComponents) {
    const { node, isTeammate, nameOf } = components
    this.node = node
    this.isTeammate = isTeammate
    this.nameOf = nameOf
  }

  start(): void {
    this.node.addEventListener('connection:open', this.listener)
  }

  stop(): void {
    this.node.removeEventListener('connection:open', this.listener)
  }

  /** What is known, in words; `plan` and `mapping` are what the device guessed from its own addresses and router. */
  status(plan: RelayPlan, mapping: PortMappingStatus, listening: string[]): ReachabilityStatus {
    // A joiner's connection comes in before it is a member: its connections are looked at again now.
    if (!this.internet) for (const c of this.node.getConnections()) this.observe(c)
    const who = (s: Seen): string => this.nameOf(s.peer) ?? 'a teammate'
    const when = (s: Seen): string => new Date(s.at).toISOString().slice(11, 16)
    if (this.internet)
      return {
        state: 'internet',
        text: `Reachable from the internet: ${who(this.internet)} connected in directly from ${this.internet.from} (at ${when(this.internet)} UTC).`,
      }
    if (this.lan)
      return {
        state: 'lan',
        text: `Reachable on this network: ${who(this.lan)} connected in directly from ${this.lan.from}. No teammate outside it has connected in yet${plan.reserve ? '; they reach this device through a relay' : ''}.`,
      }
    const ips = listening.flatMap((a) => {
      const m = /^\/ip[46]\/([^/]+)\//.exec(a)
      return m ? [m[1]!] : []
    })
    if (ips.length > 0 && ips.every((ip) => kindOf(ip) === 'loopback'))
      return { state: 'local', text: 'Listening on this machine only: only peers on this machine can connect.' }
    if (mapping.state === 'mapped')
      return {
        state: 'unconfirmed',
        text: 'The router forwards a port to this device, but no teammate has connected in through it yet, so it is not confirmed.',
      }
    if (plan.reserve)
      return {
        state: 'unconfirmed',
        text: 'Behind a NAT, and no teammate has connected in directly yet: teammates outside this network reach this device through a relay.',
      }
    return {
      state: 'unconfirmed',
      text: 'This device has a public address, but no teammate has connected in directly yet, so it is not confirmed.',
    }
  }
}
