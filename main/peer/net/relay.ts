/**
 * Relays from the team itself (libp2p circuit relay v2): a teammate with a public address relays for
 * the workspace's members, and a teammate behind a NAT keeps a slot on such a teammate, so that its
 * relayed address (announced with its others by net/address-book.ts) reaches it from anywhere.
 *
 * Members only, in the connection gater (net/limits.ts): a reservation on this peer, a connection
 * through it (both ends its teammates), and a connection reaching this device through any relay (the
 * other end a teammate). So between members a relayed connection is a full one: no data or time limit
 * (`applyDefaultLimit: false`), and the live path, catch-up and gossip run over it as over TCP.
 *
 * Whether a peer relays is decided at start from its own addresses (net/reachability.ts later tells,
 * from teammates' connections coming in, whether it is in fact reachable; libp2p's AutoNAT is not used):
 * private (RFC 1918, shared 100.64/10, link-local, unique-local) addresses are behind a NAT as far as
 * anyone outside can tell; loopback alone is this machine only, where nothing needs a relay. libp2p's
 * own `isPrivate` is not used here: it also counts the documentation ranges as private, which is what
 * the namespace tests use as the public internet.
 */
import { networkInterfaces } from 'node:os'
import { isIPv4 } from 'node:net'
import type { Connection } from '@libp2p/interface'
import type { Log } from '../log.ts'
import type { GrapevineNode } from './node.ts'

/** Serve as a relay for teammates: `auto` when this peer has a public address. */
export type RelayMode = 'auto' | 'on' | 'off'

export interface RelayPlan {
  /** Run the relay server (members only). */
  serve: boolean
  /** Keep a slot on a teammate's relay and announce the relayed address. */
  reserve: boolean
}

/** What this peer does about relays, from where it listens (`host`) and the mode asked for. */
export function relayPlan(host: string, mode: RelayMode = 'auto'): RelayPlan {
  const kinds = addressKinds(host)
  const reachable = kinds.includes('public')
  const behindNat = !reachable && kinds.includes('private')
  return { serve: mode === 'on' || (mode === 'auto' && reachable), reserve: behindNat }
}

type AddressKind = 'public' | 'private' | 'loopback'

/** The kinds of the addresses this peer listens on (every interface's for a wildcard host). */
function addressKinds(host: string): AddressKind[] {
  if (host !== '0.0.0.0' && host !== '::') return [kindOf(host)]
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [kindOf(i.address)] : []))
}

export function kindOf(ip: string): AddressKind {
  if (isIPv4(ip)) {
    const [a = 0, b = 0] = ip.split('.').map(Number)
    if (a === 127) return 'loopback'
    if (a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) return 'private'
    if ((a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) || a === 0) return 'private'
    return 'public'
  }
  const v6 = ip.toLowerCase()
  if (v6 === '::1') return 'loopback'
  if (v6.startsWith('fe8') || v6.startsWith('fe9') || v6.startsWith('fea') || v6.startsWith('feb')) return 'private'
  if (v6.startsWith('fc') || v6.startsWith('fd')) return 'private'
  return 'public'
}

const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
const RELAYED_CLOSE_MS = 5_000

/**
 * Closes `conn`, a connection to a relay, after the connections relayed over it.
 *
 * Each relayed connection runs on a stream of `conn`. Closed from under them, their muxers go on writing to
 * a stream already closed for writing (a window update, the first frame of a new stream), and libp2p
 * throws that outside any call of ours: `StreamStateError: Cannot write to a stream that is closed` from
 * the microtask in which yamux opens a stream (@libp2p/yamux 8.0 muxer.js `newStream`, over
 * @libp2p/circuit-relay-v2 4.2 stream-to-conn.js). Uncaught, it ended a peer process in the NAT tests.
 * Closed first, a relayed connection's muxer says goodbye while its stream still carries it, and opens
 * nothing after. A library bug, worked around here: relay.test.ts shows the crash with a plain close.
 */
export async function closeRelayConnection(node: GrapevineNode, conn: Connection): Promise<void> {
  const relay = `/p2p/${conn.remotePeer}`
  // A relayed connection's address is the relay's, then /p2p-circuit, then the far end's.
  const over = node.getConnections().filter((c) => {
    const [via, far] = c.remoteAddr.toString().split('/p2p-circuit')
    return far !== undefined && via!.endsWith(relay)
  })
  await Promise.all(over.map((c) => c.close({ signal: AbortSignal.timeout(RELAYED_CLOSE_MS) }).catch((err: Error) => c.abort(err))))
  await conn.close()
}
const SLOT_CHECK_MS = 30_000

/** What a relay slot is kept with (libp2p-style components; the plan apart, as a service's init). */
export interface RelaySlotComponents {
  node: GrapevineNode
  /** This device's teammates in any workspace, now: the relays to ask are among them. */
  teammates: () => Set<string>
  log: Log
}

/**
 * Keeps a slot on a teammate's relay while `reserve` says to. libp2p's relay transport asks a relay for a
 * slot when it first connects and learns the relay speaks the hop protocol; at a join that is before the
 * relay knows the newcomer as a member, so it says no, and the transport does not ask again on that
 * connection. So once membership changes (and every half minute), a device with no slot that is connected
 * to a teammate who relays hangs up that connection and dials it again: the new connection asks anew.
 */
export function keepRelaySlot(components: RelaySlotComponents, plan: RelayPlan): { membersChanged(): void; stop(): void } {
  const { node, teammates, log } = components
  if (!plan.reserve) return { membersChanged: () => {}, stop: () => {} }
  let busy = false
  // Each relay is asked again once per membership change at most: one that keeps saying no (full, or it
  // does not know this device yet) must not cost the connection to it a reconnect every half minute.
  const asked = new Set<string>()
  const check = async (): Promise<void> => {
    if (busy || node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit'))) return
    busy = true
    try {
      const mates = teammates()
      for (const conn of node.getConnections()) {
        const id = conn.remotePeer
        if (!mates.has(id.toString()) || asked.has(id.toString()) || conn.remoteAddr.toString().includes('/p2p-circuit')) continue
        const peer = await node.peerStore.get(id).catch(() => null)
        if (!peer?.protocols.includes(HOP_PROTOCOL)) continue
        asked.add(id.toString())
        log('debug', `asking ${id} for a relay slot again, on a new connection`)
        await closeRelayConnection(node, conn)
        await node.dial(id, { signal: AbortSignal.timeout(10_000) })
        return
      }
    } catch (err) {
      log('debug', `relay slot: ${(err as Error).message}`)
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => void check(), SLOT_CHECK_MS)
  timer.unref()
  let soon: NodeJS.Timeout | null = null
  return {
    membersChanged: () => {
      asked.clear()
      // The relay learns of the membership from the same op, a moment apart.
      soon ??= setTimeout(() => {
        soon = null
        void check()
      }, 1_000)
    },
    stop: () => {
      clearInterval(timer)
      if (soon) clearTimeout(soon)
    },
  }
}
