/**
 * Port mapping on the home router (UPnP IGD), so that a teammate anywhere can dial this device directly
 * instead of through a relay. A device that listens on a private address asks the router it finds on its
 * LAN to forward the same port of the router's public address to it, and announces that address with its
 * others (net/address-book.ts); a teammate connected through a relay then dials it and the relayed
 * connection is let go (net/connections.ts, `upgrade`).
 *
 * `@achingbrain/nat-port-mapper` (the library libp2p's own `@libp2p/upnp-nat` is built on) does the UPnP
 * work: SSDP search, the IGD's SOAP calls, and renewing the lease before it runs out. `@libp2p/upnp-nat`
 * itself is not used: it refuses every external address that libp2p's `isPrivate` counts as private,
 * which includes the documentation ranges, and it announces through libp2p's address manager, while
 * Grapevine's addresses travel signed among members. Whether the router's address is public is judged
 * here as everywhere else in Grapevine (`kindOf`): a private one means a second NAT upstream, and then the
 * mapping would reach nobody and is dropped.
 *
 * Nothing is searched for when the peer listens only on loopback (tests, a profile kept on this machine),
 * or on a public address (nothing to map), or when the person turned it off (`portMapping: false`,
 * `--no-port-mapping`). A router that does not answer, or refuses, costs one log line: the relay still
 * works. The mapping is removed at stop.
 */
import { upnpNat, type Gateway } from '@achingbrain/nat-port-mapper'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Log } from '../log.ts'
import { kindOf } from './relay.ts'

/** How long to look for a router on the LAN before giving up (it answers within milliseconds when it is there). */
const SEARCH_MS = 5_000
const CALL_MS = 5_000
/** The lease asked for; the library renews it before it ends, for as long as the peer runs. */
const LEASE_MS = 2 * 60 * 60_000
/** A router that did not answer (or refused) is asked again this often: it may come up, or allow it, later. */
const RETRY_MS = 10 * 60_000

export interface Mapped {
  /** The router's public address and the port it forwards, as a multiaddr without /p2p. */
  address: string
  internal: string
  gateway: string
}

export class PortMapper {
  private gateway: Gateway | null = null
  private mapped: Mapped[] = []
  private readonly abort = new AbortController()
  private running: Promise<void> = Promise.resolve()
  private retry: NodeJS.Timeout | null = null
  private readonly log: Log
  private readonly onChange: () => void
  private readonly retryMs: number

  constructor(log: Log, onChange: () => void, retryMs = RETRY_MS) {
    this.log = log
    this.onChange = onChange
    this.retryMs = retryMs
  }

  /** The public addresses the router forwards to this device (none until a mapping succeeded). */
  addresses(): string[] {
    return this.mapped.map((m) => m.address)
  }

  /** What was mapped, for the network view and tests. */
  mappings(): Mapped[] {
    return [...this.mapped]
  }

  /**
   * Maps the private TCP addresses among `listening` (in the background: it never delays the start and
   * never throws), and asks again every `retryMs` until a router did. Resolves when the first attempt
   * ended, whatever its outcome.
   */
  start(listening: Multiaddr[]): Promise<void> {
    const targets = mappable(listening)
    if (targets.length === 0) return this.running
    this.running = this.map(targets)
      .catch(async (err: unknown) => {
        if (!this.abort.signal.aborted) this.log('info', `no port mapping on the router: ${(err as Error).message}`)
        const gateway = this.gateway
        if (this.mapped.length > 0 || !gateway) return
        this.gateway = null
        await gateway.stop({ signal: AbortSignal.timeout(1_000) }).catch(() => {})
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
    const gateway = this.gateway
    this.gateway = null
    this.mapped = []
    // Removes the mapping on the router; a router gone meanwhile is not waited for.
    await gateway?.stop({ signal: AbortSignal.timeout(1_000) }).catch(() => {})
  }

  private async map(targets: { host: string; port: number }[]): Promise<void> {
    const client = upnpNat({ description: 'Grapevine', ttl: LEASE_MS, autoRefresh: true })
    const search = AbortSignal.any([this.abort.signal, AbortSignal.timeout(SEARCH_MS)])
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
    if (!gateway) {
      if (!this.abort.signal.aborted) this.log('debug', 'no UPnP router answered on the LAN')
      return
    }
    this.gateway = gateway
    const signal = (): AbortSignal => AbortSignal.any([this.abort.signal, AbortSignal.timeout(CALL_MS)])
    const external = await gateway.externalIp({ signal: signal() })
    if (kindOf(external) !== 'public') {
      this.log('info', `the router's own address ${external} is private (a second NAT upstream): no port mapping`)
      this.gateway = null
      await gateway.stop({ signal: AbortSignal.timeout(1_000) }).catch(() => {})
      return
    }
    // Each address on its own: a machine also has private addresses the router does not serve (a VM's or a
    // container's bridge), and the router refusing those must not keep the LAN address from being mapped.
    const refused: string[] = []
    for (const t of targets) {
      let m: Awaited<ReturnType<Gateway['map']>>
      try {
        m = await gateway.map(t.port, t.host, { protocol: 'TCP', signal: signal() })
      } catch (err) {
        if (this.abort.signal.aborted) return
        refused.push(`${t.host}:${t.port} (${(err as Error).message})`)
        continue
      }
      const host = kindOf(m.externalHost) === 'public' ? m.externalHost : external
      this.mapped.push({
        address: `/ip4/${host}/tcp/${m.externalPort}`,
        internal: `${m.internalHost}:${m.internalPort}`,
        gateway: gateway.host,
      })
      this.log('info', `the router ${gateway.host} forwards ${host}:${m.externalPort} to ${m.internalHost}:${m.internalPort}`)
      this.onChange()
    }
    if (this.mapped.length === 0) throw new Error(`the router ${gateway.host} refused to forward ${refused.join(', ')}`)
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
