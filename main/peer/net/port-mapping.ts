/**
 * Port mapping on the home router (UPnP IGD, or NAT-PMP where the router speaks only that), so that a
 * teammate anywhere can dial this device directly instead of through a relay. A device that listens on
 * a private address asks the router it finds on its LAN to forward the same port of the router's public
 * address to it, and announces that address with its others (net/address-book.ts); a teammate connected
 * through a relay then dials it and the relayed connection is let go (net/connections.ts, `upgrade`).
 *
 * `@achingbrain/nat-port-mapper` (the library libp2p's own `@libp2p/upnp-nat` is built on) does the UPnP
 * work: SSDP search, the IGD's SOAP calls, and renewing the lease before it runs out. A router that no
 * SSDP search finds is asked with NAT-PMP (RFC 6886; Apple's AirPort and many others) at the default
 * gateway (net/gateway.ts), through the same library's `pmpNat`, with three of its defects worked around
 * here (see `PmpRouter`). `@libp2p/upnp-nat` itself is not used: it refuses every external address that
 * libp2p's `isPrivate` counts as private, which includes the documentation ranges, and it announces
 * through libp2p's address manager, while Grapevine's addresses travel signed among members. Whether the
 * router's address is public is judged here as everywhere else in Grapevine (`kindOf`): a private one
 * means a second NAT upstream, and then the mapping would reach nobody and is dropped.
 *
 * Nothing is searched for when the peer listens only on loopback (tests, a profile kept on this machine),
 * or on a public address (nothing to map), or when the person turned it off (`portMapping: false`,
 * `--no-port-mapping`). A router that does not answer, or refuses, costs one log line: the relay still
 * works. The mapping is removed at stop. `status()` says in words what happened, for the network view.
 */
import { pmpNat, upnpNat, type Gateway } from '@achingbrain/nat-port-mapper'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Log } from '../log.ts'
import { defaultGateway } from './gateway.ts'
import { kindOf } from './relay.ts'

/** How long to look for a router on the LAN before giving up (it answers within milliseconds when it is there). */
const SEARCH_MS = 5_000
const CALL_MS = 5_000
/** The lease asked for; it is renewed before it ends, for as long as the peer runs. */
const LEASE_MS = 2 * 60 * 60_000
/** A router that did not answer (or refused) is asked again this often: it may come up, or allow it, later. */
const RETRY_MS = 10 * 60_000
/** NAT-PMP's port (RFC 6886 §3): replies come from it, and from the gateway asked. */
const PMP_SERVER_PORT = 5351

export interface Mapped {
  /** The router's public address and the port it forwards, as a multiaddr without /p2p. */
  address: string
  internal: string
  gateway: string
  /** How the router was asked. */
  via: RouterKind
}

export type RouterKind = 'UPnP' | 'NAT-PMP'

/** What port mapping did, for the network view and `addresses`. */
export interface PortMappingStatus {
  state: 'off' | 'not-needed' | 'asking' | 'mapped' | 'no-router' | 'refused' | 'double-nat'
  /** One sentence a person can act on. */
  text: string
}

/** One router that forwards ports, however it is asked. */
export interface Router {
  kind: RouterKind
  host: string
  externalIp(signal: AbortSignal): Promise<string>
  map(
    port: number,
    host: string,
    signal: AbortSignal,
  ): Promise<{ externalHost: string; externalPort: number; internalHost: string; internalPort: number }>
  /** Removes its mappings (a router gone meanwhile is not waited for) and lets go of its socket. */
  stop(): Promise<void>
}

/** What port mapping is done with (libp2p-style components; the retry interval apart, as a service's init). */
export interface PortMapperComponents {
  log: Log
  /** The mapped addresses changed: the address book signs them anew. */
  onChange: () => void
  /** How the router is looked for (UPnP, then NAT-PMP at the default gateway); a unit test gives its own. */
  find?: (abort: AbortSignal) => Promise<Router | null>
}

export class PortMapper {
  private router: Router | null = null
  private mapped: Mapped[] = []
  private readonly abort = new AbortController()
  private running: Promise<void> = Promise.resolve()
  private retry: NodeJS.Timeout | null = null
  private state: PortMappingStatus = { state: 'off', text: 'Port mapping is off.' }
  private readonly log: Log
  private readonly onChange: () => void
  private readonly retryMs: number
  private readonly findRouter: (abort: AbortSignal) => Promise<Router | null>

  constructor(components: PortMapperComponents, retryMs = RETRY_MS) {
    const { log, onChange, find } = components
    this.log = log
    this.onChange = onChange
    this.retryMs = retryMs
    this.findRouter = find ?? ((abort) => findRouter(abort, log))
  }

  /** The public addresses the router forwards to this device (none until a mapping succeeded). */
  addresses(): string[] {
    return this.mapped.map((m) => m.address)
  }

  /** What was mapped, for the network view and tests. */
  mappings(): Mapped[] {
    return [...this.mapped]
  }

  status(): PortMappingStatus {
    return { ...this.state }
  }

  /**
   * Maps the private TCP addresses among `listening` (in the background: it never delays the start and
   * never throws), and asks again every `retryMs` until a router did. Resolves when the first attempt
   * ended, whatever its outcome.
   */
  start(listening: Multiaddr[]): Promise<void> {
    const targets = mappable(listening)
    if (targets.length === 0) {
      this.state = { state: 'not-needed', text: 'Nothing to forward: this device listens on no address behind a router.' }
      return this.running
    }
    if (this.state.state !== 'mapped') this.state = { state: 'asking', text: 'Asking the router to forward a port…' }
    this.running = this.map(targets)
      .catch(async (err: unknown) => {
        if (this.abort.signal.aborted) return
        this.log('info', `no port mapping on the router: ${(err as Error).message}`)
        const router = this.router
        if (this.mapped.length > 0) return
        if (!router) {
          this.state = {
            state: 'no-router',
            text: `Looking for a router failed: ${(err as Error).message}. Teammates reach this device through a relay.`,
          }
          return
        }
        this.state = {
          state: 'refused',
          text: `The router (${router.host}, ${router.kind}) did not forward a port: ${(err as Error).message}. Teammates reach this device through a relay.`,
        }
        this.router = null
        await router.stop()
      })
      .then(() => {
        if (this.mapped.length > 0 || this.abort.signal.aborted) return
        this.retry = setTimeout(() => void this.start(listening), this.retryMs)
        this.retry.unref()
      })
    return this.running
  }

  async stop(): Promise<void> {
    if (this.retry) clearTimeout(this.retry)
    this.abort.abort()
    await this.running
    const router = this.router
    this.router = null
    this.mapped = []
    await router?.stop()
  }

  private async map(targets: { host: string; port: number }[]): Promise<void> {
    const router = await this.findRouter(this.abort.signal)
    if (!router) {
      if (this.abort.signal.aborted) return
      this.log('debug', 'no router answered on the LAN (UPnP or NAT-PMP)')
      this.state = {
        state: 'no-router',
        text: 'No router on this network forwards ports (UPnP and NAT-PMP asked). Teammates reach this device through a relay.',
      }
      return
    }
    this.router = router
    const signal = (): AbortSignal => AbortSignal.any([this.abort.signal, AbortSignal.timeout(CALL_MS)])
    const external = await router.externalIp(signal())
    if (kindOf(external) !== 'public') {
      this.log('info', `the router's own address ${external} is private (a second NAT upstream): no port mapping`)
      this.state = {
        state: 'double-nat',
        text: `The router's own address (${external}) is private: another NAT is upstream, so a forwarded port would reach nobody. Teammates reach this device through a relay.`,
      }
      this.router = null
      await router.stop()
      return
    }
    // Each address on its own: a machine also has private addresses the router does not serve (a VM's or a
    // container's bridge), and the router refusing those must not keep the LAN address from being mapped.
    const refused: string[] = []
    for (const t of targets) {
      let m: Awaited<ReturnType<Router['map']>>
      try {
        m = await router.map(t.port, t.host, signal())
      } catch (err) {
        if (this.abort.signal.aborted) return
        refused.push(`${t.host}:${t.port} (${(err as Error).message})`)
        continue
      }
      const host = kindOf(m.externalHost) === 'public' ? m.externalHost : external
      this.mapped.push({
        address: `/ip4/${host}/tcp/${m.externalPort}`,
        internal: `${m.internalHost}:${m.internalPort}`,
        gateway: router.host,
        via: router.kind,
      })
      this.log(
        'info',
        `the router ${router.host} forwards ${host}:${m.externalPort} to ${m.internalHost}:${m.internalPort} (${router.kind})`,
      )
      this.state = {
        state: 'mapped',
        text: `The router (${router.host}, ${router.kind}) forwards ${host}:${m.externalPort} to this device: teammates anywhere can reach it directly.`,
      }
      this.onChange()
    }
    if (this.mapped.length === 0) throw new Error(`the router ${router.host} refused to forward ${refused.join(', ')}`)
  }
}

/** A UPnP router on the LAN, else the default gateway if it answers NAT-PMP, else null. */
async function findRouter(abort: AbortSignal, log: Log): Promise<Router | null> {
  const upnp = await findUpnp(abort)
  if (upnp || abort.aborted) return upnp
  const gateway = await defaultGateway()
  if (!gateway || kindOf(gateway) !== 'private' || abort.aborted) return null
  const pmp = new PmpRouter(gateway, log)
  try {
    // A router that does not speak NAT-PMP does not answer at all (or says no): the call times out.
    await pmp.externalIp(AbortSignal.any([abort, AbortSignal.timeout(CALL_MS)]))
    return pmp
  } catch {
    await pmp.stop()
    return null
  }
}

/** The first IPv4 UPnP gateway that answers an SSDP search within SEARCH_MS, or null. */
async function findUpnp(abort: AbortSignal): Promise<Router | null> {
  const client = upnpNat({ description: 'Grapevine', ttl: LEASE_MS, autoRefresh: true })
  const search = AbortSignal.any([abort, AbortSignal.timeout(SEARCH_MS)])
  let gateway: Gateway | null = null
  try {
    for await (const g of client.findGateways({ signal: search })) {
      if (g.family !== 'IPv4') continue
      gateway = g
      break
    }
  } catch (err) {
    // The search ends by its timeout when no router answered.
    if (!search.aborted) throw err
  }
  if (!gateway) return null
  const g = gateway
  return {
    kind: 'UPnP',
    host: g.host,
    externalIp: (signal) => g.externalIp({ signal }),
    map: (port, host, signal) => g.map(port, host, { protocol: 'TCP', signal }),
    stop: () => g.stop({ signal: AbortSignal.timeout(1_000) }).catch(() => {}),
  }
}

/**
 * A NAT-PMP router, through `pmpNat`. Three defects of `@achingbrain/nat-port-mapper` 4.0.5's NAT-PMP client
 * are worked around here (its UPnP side has none of them):
 * - It writes `ttl` into the request's seconds field as given, though it documents milliseconds (its UPnP
 *   side divides by 1000), and times its own renewal in milliseconds from the same value. So the lease is
 *   given in seconds, its own renewal is off (`autoRefresh: false`), and the mapping is renewed here.
 * - It reads every datagram arriving on its port as a reply, with no check of sender or length: a short one
 *   throws inside the socket's handler, which would end the process. Replies are let through only from the
 *   gateway's NAT-PMP port and when they are as long as their opcode needs.
 * - A socket error is emitted as 'error' with no listener, which would end the process: it is logged.
 */
class PmpRouter implements Router {
  readonly kind = 'NAT-PMP' as const
  readonly host: string
  private readonly gateway: Gateway
  private readonly ports = new Map<number, { host: string; renew: NodeJS.Timeout }>()
  private readonly log: Log

  constructor(host: string, log: Log) {
    this.host = host
    this.log = log
    this.gateway = pmpNat(host, { description: 'Grapevine', autoRefresh: false })
    const emitter = this.gateway as unknown as {
      socket?: import('node:dgram').Socket
      onMessage?: (msg: Buffer, rinfo: import('node:dgram').RemoteInfo) => void
      on(event: 'error', fn: (err: Error) => void): void
    }
    emitter.on('error', (err) => this.log('debug', `NAT-PMP socket: ${err.message}`))
    const socket = emitter.socket
    const onMessage = emitter.onMessage?.bind(this.gateway)
    if (socket && onMessage) {
      socket.removeAllListeners('message')
      socket.on('message', (msg: Buffer, rinfo: import('node:dgram').RemoteInfo) => {
        if (rinfo.address !== host || rinfo.port !== PMP_SERVER_PORT) return
        // Replies: 128 (external address) is 12 bytes, 129 and 130 (mappings) 16 (RFC 6886 §3.2, §3.3).
        const op = msg.length >= 2 ? msg[1]! : -1
        const need = op === 128 ? 12 : op === 129 || op === 130 ? 16 : Number.POSITIVE_INFINITY
        if (msg.length < need) return
        onMessage(msg, rinfo)
      })
    }
  }

  externalIp(signal: AbortSignal): Promise<string> {
    return this.gateway.externalIp({ signal })
  }

  async map(port: number, host: string, signal: AbortSignal) {
    const m = await this.gateway.map(port, host, { protocol: 'TCP', ttl: LEASE_MS / 1000, autoRefresh: false, signal })
    const old = this.ports.get(port)
    if (old) clearTimeout(old.renew)
    const renew = setTimeout(() => {
      void this.map(port, host, AbortSignal.timeout(CALL_MS)).catch((err: unknown) =>
        this.log('info', `the router ${this.host} did not renew its forwarded port ${port}: ${(err as Error).message}`),
      )
    }, LEASE_MS / 2)
    renew.unref()
    this.ports.set(port, { host, renew })
    return m
  }

  async stop(): Promise<void> {
    for (const { renew } of this.ports.values()) clearTimeout(renew)
    const ports = [...this.ports.keys()]
    this.ports.clear()
    // A lifetime of 0 removes a mapping (RFC 6886 §3.4).
    await Promise.all(ports.map((p) => this.gateway.unmap(p, { signal: AbortSignal.timeout(1_000) }).catch(() => {})))
    await this.gateway.stop({ signal: AbortSignal.timeout(1_000) }).catch(() => {})
  }
}
/** The IPv4 TCP addresses behind a NAT among those listened on: the ones a router could forward to. */
function mappable(listening: Multiaddr[]): { host: string; port: number }[] {
  const out = new Map<string, { host: string; port: number }>()
  for (const ma of listening) {
    const parts = ma.getComponents()
    if (parts.some((c) => c.name === 'p2p-circuit')) continue
    const host = parts.find((c) => c.name === 'ip4')?.value
    const port = Number(parts.find((c) => c.name === 'tcp')?.value)
    if (!host || !port || kindOf(host) !== 'private') continue
    out.set(`${host}:${port}`, { host, port })
  }
  return [...out.values()]
}
