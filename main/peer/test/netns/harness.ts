/**
 * A network-namespace test harness: public hosts and hosts behind NAT routers, on one machine, as root.
 *
 * Grapevine has to work between teammates behind home routers; that cannot be tested on 127.0.0.1. This
 * harness builds small networks out of Linux network namespaces (see ../../../../../shared/STACK-NOTES.md,
 * "Network namespaces, NAT and faults"):
 *   - an "internet" namespace holding a bridge on 198.51.100.0/24 (a documentation range, never a real address);
 *   - public hosts: a namespace with a veth into that bridge and a 198.51.100.x address;
 *   - NAT hosts: a router namespace (outside leg on the bridge, inside leg on its own 10.<n>.0.0/24, nftables
 *     masquerade, endpoint-independent or symmetric) and a home namespace behind it.
 * Nothing is connected to the machine's real interfaces: the internet namespace has no uplink and no namespace
 * has a route out of the addresses the harness assigned, so test traffic cannot leave.
 *
 * Interface names live inside the namespaces (veths are created with one end already in the other namespace),
 * so they stay short (eth0, wan, lan, br0, p<n>) whatever the prefix; only namespace names carry the prefix
 * `gv<pid>x<random>`, which is how `sweepStale` tells a crashed run's leftovers from a live run's.
 *
 * Every namespace and child a Topology made goes away in `cleanup()`, which tests call in `finally`, and which
 * also runs when the process exits, is interrupted or dies of an uncaught error.
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ClientMethod, type ClientParams, type ClientResults, type ErrorCode, GrapevineError } from '../../../../shared/protocol.ts'
import type { Peer } from '../../peer.ts'
import { alive } from '../../store/profile-lock.ts'

const PEER_CHILD = fileURLToPath(new URL('./peer-child.ts', import.meta.url))
const PROXY = fileURLToPath(new URL('./proxy.ts', import.meta.url))
const STEM = 'gv'
const INTERNET_NET = '198.51.100'
/**
 * A routable range for the scenarios whose router software refuses the documentation ranges: miniupnpd
 * will not forward a port of a "Reserved / private IP address" ("Port forwarding is impossible"), and
 * neither will libp2p's own port mapper. It is as safe: no namespace has a route out of the addresses the
 * harness assigned, so nothing sent to this range leaves the namespaces.
 */
export const ROUTABLE_INTERNET = '1.2.3'
const COMMAND_TIMEOUT_MS = 10_000
/** iproute2's `ip`: every namespace operation and every command in a namespace (`ip netns exec`) goes through it. */
const IP = 'ip'

export type NamespaceSupport = { ok: true } | { ok: false; reason: string }

let support: NamespaceSupport | undefined

/** Whether routers can forward ports on request here (miniupnpd, Debian's miniupnpd-nftables); null if so, else why not. */
export function upnpUnsupported(): string | null {
  try {
    execFileSync('miniupnpd', ['--version'], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
    return null
  } catch {
    return "'miniupnpd' is missing (apt-get install miniupnpd-nftables)"
  }
}

/** Whether this machine can run the namespace tests (root, `ip`, `nft`, and a netns with NAT really made); cached. */
export function namespaceSupport(): NamespaceSupport {
  support ??= probeSupport()
  return support
}

function probeSupport(): NamespaceSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (run the tests as root)' }
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
  ] as const) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
    } catch {
      return { ok: false, reason: `'${tool}' is missing (apt-get install ${pkg})` }
    }
  }
  const ns = `${STEM}${process.pid}x${randomBytes(2).toString('hex')}-probe`
  try {
    ip(['netns', 'add', ns])
    // A NAT chain needs the kernel's nf_tables and nat support, which a container may lack even as root.
    ip(['netns', 'exec', ns, 'nft', '-f', '-'], 'table ip nat {\n chain post { type nat hook postrouting priority srcnat; }\n}\n')
    return { ok: true }
  } catch (err) {
    return { ok: false, reason: `cannot make a network namespace with NAT here: ${(err as Error).message}` }
  } finally {
    try {
      ip(['netns', 'delete', ns])
    } catch {
      // It was never made.
    }
  }
}

/** Runs `ip` synchronously; throws with its stderr. */
function ip(args: string[], input?: string): string {
  try {
    return execFileSync(IP, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS })
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim()
    throw new Error(`'ip ${args.join(' ')}' failed: ${stderr || (err as Error).message}`)
  }
}

/** The names of every network namespace on the machine (`ip netns list`). */
export function netnsNames(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean)
}

/**
 * Deletes namespaces left by earlier runs that crashed before cleaning up: those named `<stem><pid>x…` whose
 * creating process is gone. Processes still inside them (children of that run) are killed by PID first, so
 * the namespaces really go away. Returns the names deleted.
 */
export function sweepStale(stem: string = STEM): string[] {
  const pattern = new RegExp(`^${stem.replace(/[^a-z0-9]/gi, '')}(\\d+)x[0-9a-f]+-`)
  const deleted: string[] = []
  for (const ns of netnsNames()) {
    const pid = Number(ns.match(pattern)?.[1] ?? Number.NaN)
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue
    for (const line of ip(['netns', 'pids', ns]).split('\n')) {
      const child = Number(line.trim())
      if (Number.isInteger(child) && child > 0) {
        try {
          process.kill(child, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
    }
    ip(['netns', 'delete', ns])
    deleted.push(ns)
  }
  return deleted
}

export interface Host {
  /** The namespace's name, for run / spawnIn / startPeerIn. */
  ns: string
  /** The address the harness gave it (198.51.100.x for a public host, 10.<n>.0.2 for a home host). */
  ip: string
}

export interface NatHost extends Host {
  symmetric: boolean
  /** The router forwards ports on request (UPnP IGD and NAT-PMP, miniupnpd); see `startUpnp`. */
  upnp: boolean
  router: { ns: string /** Its outside address: what public hosts see as the source. */; ip: string; insideIp: string }
}

export interface PeerHandle {
  /** The namespace address it listens on. */
  readonly host: string
  readonly pid: number
  /** Its profile: pass it to `startPeerIn` to start the same device again. */
  readonly profileDir: string
  request<M extends ClientMethod>(method: M, params: ClientParams<M>, timeoutMs?: number): Promise<ClientResults[M]>
  addrs(timeoutMs?: number): Promise<string[]>
  /** The remote addresses of its open connections to `peerId` (a relayed one has /p2p-circuit). */
  connectionsTo(peerId: string, timeoutMs?: number): Promise<string[]>
  /** libp2p's ids of its open connections to `peerId`: one that is closed and dialled again gets a new id. */
  connectionIdsTo(peerId: string, timeoutMs?: number): Promise<string[]>
  stats(timeoutMs?: number): Promise<ReturnType<Peer['stats']>>
  /** Stops the peer cleanly; SIGKILLs it if that takes longer than `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>
  /** SIGKILL, like a crash or a pulled plug. */
  kill(): void
}

export interface StartPeerOptions {
  /** The namespace address to listen on (never 0.0.0.0, so invites carry a reachable address). */
  host: string
  /** A label for error messages and the device's display name. */
  name: string
  port?: number
  /** More PeerConfig, passed through to createPeer as JSON (so it must be JSON: no log, no key vault). */
  config?: Record<string, unknown>
  /** How long to wait for the peer to listen. */
  startTimeoutMs?: number
  /** A profile an earlier peer of this topology used (its `profileDir`): the same device starts again. */
  profileDir?: string
}

export interface TcpProbeResult {
  ok: boolean
  /** What the server sent back (a whoami server: the client's address as it saw it, `ip:port`). */
  reply?: string
  error?: string
  /** From writing the request to the end of the reply. */
  ms?: number
}

export interface ProxyInNamespace {
  host: string
  port: number
  seed: number
  /** SIGTERM and wait for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>
}

const live = new Set<Topology>()
let hooksInstalled = false

/** Cleanup must also happen when a test run dies; 'exit' handlers must be synchronous, and cleanup is. */
function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  const cleanupAll = (): void => {
    for (const t of [...live]) t.cleanup()
  }
  process.on('exit', cleanupAll)
  // A monitor, not a handler: the process (or node:test) still reports and treats the error as it would.
  process.on('uncaughtExceptionMonitor', cleanupAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupAll()
      process.off(signal, onSignal)
      // Die of the signal as we would have without this hook, unless someone else also handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/** Inline scripts for the TCP checks: a child in the namespace is the only way to have a socket there. */
const WHOAMI_SERVER = `
const net = require('node:net')
const [host, port] = JSON.parse(process.argv[1])
const server = net.createServer((s) => {
  s.on('error', () => {})
  s.once('data', () => s.end(s.remoteAddress + ':' + s.remotePort))
})
server.listen(port, host, () => process.stdout.write('LISTENING ' + server.address().port + '\\n'))
process.on('SIGTERM', () => process.exit(0))
`
const TCP_PROBE = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
let reply = '', sentAt = 0, done = false
const finish = (r) => { if (done) return; done = true; process.stdout.write(JSON.stringify(r) + '\\n'); process.exit(0) }
const s = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress, localPort: o.localPort })
s.setTimeout(o.timeoutMs, () => { finish({ ok: false, error: 'timed out after ' + o.timeoutMs + ' ms' }); s.destroy() })
s.on('connect', () => { sentAt = performance.now(); s.write(o.send) })
s.on('data', (d) => { reply += d })
s.on('end', () => finish({ ok: true, reply, ms: performance.now() - sentAt }))
s.on('error', (e) => finish({ ok: false, error: e.code || e.message }))
`

export class Topology {
  /** `gv<pid>x<random>`: every namespace of this topology is `<prefix>-<name>`. */
  readonly prefix: string
  /** The namespace with the bridge every public address is on. */
  readonly internet: string
  private readonly children = new Set<ChildProcess>()
  private readonly tempDirs = new Set<string>()
  private readonly names = new Set<string>()
  private nextPublic = 10
  private nextPort = 0
  private nextNat = 1
  private cleaned = false

  /** The first three octets of the internet bridge's /24. */
  private readonly internetNet: string

  /**
   * Sweeps stale namespaces of crashed runs, then makes the internet namespace. Throws if namespaces are
   * unsupported. `internet` is the public /24 (its first three octets): a documentation range by default.
   */
  constructor(opts: { internet?: string } = {}) {
    this.internetNet = opts.internet ?? INTERNET_NET
    const s = namespaceSupport()
    if (!s.ok) throw new Error(`network namespaces are not available: ${s.reason}`)
    sweepStale(STEM)
    this.prefix = `${STEM}${process.pid}x${randomBytes(3).toString('hex')}`
    installExitHooks()
    live.add(this)
    this.internet = this.makeNamespace('inet')
    try {
      ip(['-n', this.internet, 'link', 'add', 'br0', 'type', 'bridge'])
      ip(['-n', this.internet, 'link', 'set', 'br0', 'up'])
    } catch (err) {
      this.cleanup()
      throw err
    }
  }

  /** A host with a public (198.51.100.x) address on the internet bridge. */
  addPublicHost(name: string): Host {
    const ns = this.makeNamespace(name)
    const addr = this.publicAddress()
    this.plugIntoInternet(ns, 'eth0', addr)
    return { ns, ip: addr }
  }

  /**
   * A home host behind its own NAT router. Endpoint-independent NAT (plain masquerade) keeps the home source
   * port when it can, so every destination sees the same external port; symmetric NAT (masquerade
   * fully-random) picks a new external port per connection, so two destinations see two ports. Either way
   * nothing unsolicited gets in: the router drops new inbound connections silently, as most home routers do.
   */
  addNatHost(name: string, opts: { symmetric?: boolean; upnp?: boolean } = {}): NatHost {
    const symmetric = opts.symmetric ?? false
    const upnp = opts.upnp ?? false
    const n = this.nextNat++
    if (n > 254) throw new Error('too many NAT hosts in one topology (at most 254)')
    const router = this.makeNamespace(`${name}-r`)
    const home = this.makeNamespace(name)
    const outside = this.publicAddress()
    const insideIp = `10.${n}.0.1`
    const homeIp = `10.${n}.0.2`
    this.plugIntoInternet(router, 'wan', outside)
    ip(['-n', router, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', home])
    ip(['-n', router, 'addr', 'add', `${insideIp}/24`, 'dev', 'lan'])
    ip(['-n', router, 'link', 'set', 'lan', 'up'])
    ip(['-n', home, 'addr', 'add', `${homeIp}/24`, 'dev', 'eth0'])
    ip(['-n', home, 'link', 'set', 'eth0', 'up'])
    // The home host's only way out is its router; the router has no default route, so nothing leaves 198.51.100.0/24.
    ip(['-n', home, 'route', 'add', 'default', 'via', insideIp])
    ip(['netns', 'exec', router, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'])
    ip(['netns', 'exec', router, 'nft', '-f', '-'], natRules(symmetric, upnp))
    return { ns: home, ip: homeIp, symmetric, upnp, router: { ns: router, ip: outside, insideIp } }
  }

  /**
   * Starts the router's port mapper (miniupnpd: UPnP IGD and NAT-PMP, nftables backend) for a NAT host
   * made with `upnp: true`; resolves once it answers. Secure mode: a home host can forward ports only to
   * itself. The internet must be `ROUTABLE_INTERNET` (miniupnpd refuses a documentation-range address).
   * `natPmpOnly`: the router answers NAT-PMP and no UPnP (no SSDP, no IGD), as many routers do.
   */
  async startUpnp(host: NatHost, opts: { natPmpOnly?: boolean } = {}): Promise<void> {
    if (!host.upnp) throw new Error(`${host.ns} was not made with upnp: true`)
    const dir = mkdtempSync(join(tmpdir(), 'grapevine-netns-upnp-'))
    this.tempDirs.add(dir)
    const conf = join(dir, 'miniupnpd.conf')
    const net = host.router.insideIp.replace(/\.1$/, '.0')
    writeFileSync(
      conf,
      [
        'ext_ifname=wan',
        'listening_ip=lan',
        `enable_upnp=${opts.natPmpOnly ? 'no' : 'yes'}`,
        'enable_natpmp=yes',
        'secure_mode=yes',
        'system_uptime=yes',
        `lease_file=${join(dir, 'leases')}`,
        'upnp_table_name=miniupnpd',
        'upnp_nat_table_name=miniupnpd',
        'upnp_forward_chain=miniupnpd',
        'upnp_nat_chain=prerouting_miniupnpd',
        'upnp_nat_postrouting_chain=postrouting_miniupnpd',
        `allow 1024-65535 ${net}/24 1024-65535`,
        'deny 0-65535 0.0.0.0/0 0-65535',
        '',
      ].join('\n'),
    )
    const child = this.spawnIn(host.router.ns, 'miniupnpd', ['-d', '-f', conf, '-P', join(dir, 'pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // miniupnpd -d logs to stderr; the HTTP (UPnP) listener is the last thing it opens before it answers,
    // and without UPnP the NAT-PMP socket is.
    const ready = opts.natPmpOnly ? /Listening for NAT-PMP\/PCP traffic on port/ : /HTTP listening on port/
    await firstLine(child, ready, COMMAND_TIMEOUT_MS, 'miniupnpd', 'stderr')
  }

  /** Runs a command in one of this topology's namespaces; resolves to its stdout, rejects with its stderr. */
  run(ns: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    this.own(ns)
    const timeout = opts.timeoutMs ?? COMMAND_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      execFile(IP, ['netns', 'exec', ns, ...args], { timeout, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`'${args.join(' ')}' in ${ns} failed: ${String(stderr).trim() || err.message}`))
        else resolve(String(stdout))
      })
    })
  }

  /** Starts a long-running child in a namespace; cleanup() kills it by PID (ip netns exec execs, so the PID is the command's). */
  spawnIn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    this.own(ns)
    if (this.cleaned) throw new Error(`topology ${this.prefix} is already cleaned up`)
    const child = spawn(IP, ['netns', 'exec', ns, cmd, ...args], opts)
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** A Grapevine peer (peer-child.ts) in `ns`, listening on `opts.host`, with a fresh profile that cleanup() removes. */
  async startPeerIn(ns: string, opts: StartPeerOptions): Promise<PeerHandle> {
    if (opts.host === '0.0.0.0')
      throw new Error('startPeerIn: listen on the namespace address, not 0.0.0.0 (invites carry the listen address)')
    const profileDir = opts.profileDir ?? mkdtempSync(join(tmpdir(), `grapevine-netns-${opts.name}-`))
    this.tempDirs.add(profileDir)
    const config = { ...opts.config, profileDir, host: opts.host, port: opts.port ?? 0, name: opts.name }
    const child = this.spawnIn(ns, process.execPath, [PEER_CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    })
    return peerHandle(child, { ...opts, profileDir }, this.prefix)
  }

  /** The proxy (proxy.ts) as a child in `ns`; resolves once it listens. */
  async startProxyIn(
    ns: string,
    opts: { listen: string; target: string; delayMs: number; loss?: number; seed: number; timeoutMs?: number },
  ): Promise<ProxyInNamespace> {
    const args = [PROXY, '--listen', opts.listen, '--target', opts.target, '--delay-ms', String(opts.delayMs)]
    args.push('--loss', String(opts.loss ?? 0), '--seed', String(opts.seed))
    const child = this.spawnIn(ns, process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const line = await firstLine(child, /^LISTENING (\S+):(\d+) seed=(\d+)$/, opts.timeoutMs ?? 10_000, `proxy in ${ns}`)
    return {
      host: line[1]!,
      port: Number(line[2]),
      seed: Number(line[3]),
      stop: () => stopChild(child, 'SIGTERM', 5_000),
    }
  }

  /** A TCP server in `ns` that answers each connection's first bytes with the client's address as it sees it (`ip:port`). */
  async startWhoamiServer(ns: string, host: string, port = 0): Promise<{ port: number; stop(): Promise<void> }> {
    const child = this.spawnIn(ns, process.execPath, ['-e', WHOAMI_SERVER, JSON.stringify([host, port])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const line = await firstLine(child, /^LISTENING (\d+)$/, 10_000, `whoami server in ${ns}`)
    return { port: Number(line[1]), stop: () => stopChild(child, 'SIGTERM', 5_000) }
  }

  /** One TCP request from `ns`: connect (optionally from a fixed local address/port), send, read until the server ends. */
  async tcpProbe(
    ns: string,
    target: { host: string; port: number },
    opts: { localAddress?: string; localPort?: number; send?: string; timeoutMs?: number } = {},
  ): Promise<TcpProbeResult> {
    const timeoutMs = opts.timeoutMs ?? 5_000
    const o = { ...target, localAddress: opts.localAddress, localPort: opts.localPort, send: opts.send ?? 'x', timeoutMs }
    const child = this.spawnIn(ns, process.execPath, ['-e', TCP_PROBE, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const line = await firstLine(child, /^(\{.*\})$/, timeoutMs + 5_000, `TCP probe from ${ns} to ${target.host}:${target.port}`)
    return JSON.parse(line[1]!) as TcpProbeResult
  }

  /** Kills this topology's children (by PID), deletes its namespaces and temp profiles. Idempotent, synchronous. */
  cleanup(): void {
    this.cleaned = true
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    this.children.clear()
    let names: string[] = []
    try {
      names = netnsNames()
    } catch {
      names = [...this.names]
    }
    for (const ns of names) {
      if (!ns.startsWith(`${this.prefix}-`)) continue
      try {
        ip(['netns', 'delete', ns])
      } catch {
        // Deleted meanwhile; the final check of the tests would catch a namespace that really stayed.
      }
    }
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true })
    this.tempDirs.clear()
    live.delete(this)
  }

  private own(ns: string): void {
    if (!ns.startsWith(`${this.prefix}-`)) throw new Error(`namespace '${ns}' is not part of topology ${this.prefix}`)
  }

  private makeNamespace(name: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new Error(`namespace name '${name}' must be [a-z0-9-], at most 31 characters`)
    const ns = `${this.prefix}-${name}`
    if (this.names.has(ns)) throw new Error(`namespace name '${name}' is already used in this topology`)
    if (this.cleaned) throw new Error(`topology ${this.prefix} is already cleaned up`)
    this.names.add(ns)
    ip(['netns', 'add', ns])
    ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    // No IPv6: links would otherwise get link-local addresses and send router solicitations the harness never assigned.
    ip([
      'netns',
      'exec',
      ns,
      'sh',
      '-c',
      'for f in all default; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done 2>/dev/null || true',
    ])
    return ns
  }

  private publicAddress(): string {
    if (this.nextPublic > 250) throw new Error('too many public addresses in one topology')
    return `${this.internetNet}.${this.nextPublic++}`
  }

  /** A veth from `ns` (named `dev`) to a port on the internet bridge, with `addr`/24 and no default route. */
  private plugIntoInternet(ns: string, dev: string, addr: string): void {
    const port = `p${this.nextPort++}`
    ip(['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', port, 'netns', this.internet])
    ip(['-n', this.internet, 'link', 'set', port, 'master', 'br0', 'up'])
    ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev])
    ip(['-n', ns, 'link', 'set', dev, 'up'])
  }
}

/**
 * The router's rules. `ct state invalid drop` comes first in forward: masquerade lets INVALID packets out
 * un-NATed (STACK-NOTES), which would leak the private address onto the internet bridge.
 */
function natRules(symmetric: boolean, upnp: boolean): string {
  return `
table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade${symmetric ? ' fully-random' : ''}
  }
}
${
  upnp
    ? `table inet miniupnpd {
  chain forward { type filter hook forward priority filter; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`
    : ''
}table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state invalid drop
    iifname "lan" oifname "wan" accept
    iifname "wan" oifname "lan" ct state established,related accept${upnp ? '\n    iifname "wan" oifname "lan" ct status dnat accept' : ''}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
`
}

/** Resolves with the first stdout (or stderr) line matching `pattern`; rejects (with stderr) if the child exits or time runs out. */
function firstLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
  from: 'stdout' | 'stderr' = 'stdout',
): Promise<RegExpMatchArray> {
  const source = from === 'stdout' ? child.stdout : child.stderr
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const finish = (fn: () => void): void => {
      clearTimeout(timer)
      source?.off('data', onOut)
      child.off('exit', onExit)
      fn()
    }
    const onOut = (d: Buffer): void => {
      out += d
      for (const line of out.split('\n')) {
        const m = line.trim().match(pattern)
        if (m) {
          finish(() => resolve(m))
          return
        }
      }
    }
    const onExit = (code: number | null, signal: string | null): void =>
      finish(() => reject(new Error(`${what} exited (${signal ?? code}) before it was ready: ${(err || out).trim().slice(-2000)}`)))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      finish(() => reject(new Error(`${what} was not ready after ${timeoutMs} ms: ${(err || out).trim().slice(-2000)}`)))
    }, timeoutMs)
    source?.on('data', onOut)
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d).slice(-8000)
    })
    child.on('exit', onExit)
  })
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill(signal)
  })
}

type ChildReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { message: string; code?: string } }
type ChildEvent = { op: 'ready'; addrs: string[] } | { op: 'failed'; error: { message: string } }

const DEFAULT_CALL_TIMEOUT_MS = 20_000

/** Waits for peer-child's 'ready', then wraps its IPC in calls that each have a deadline. */
function peerHandle(child: ChildProcess, opts: StartPeerOptions & { profileDir: string }, prefix: string): Promise<PeerHandle> {
  const label = `peer '${opts.name}' (${prefix}, ${opts.host})`
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d).slice(-8000)
    if (process.env['GRAPEVINE_TEST_LOG']) process.stderr.write(`[${opts.name}] ${d}`)
  })
  child.stdout?.on('data', (d: Buffer) => {
    if (process.env['GRAPEVINE_TEST_LOG']) process.stdout.write(`[${opts.name}] ${d}`)
  })
  const tail = (): string => (stderr.trim() ? `; stderr: ${stderr.trim().slice(-2000)}` : '')
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>()
  let nextId = 1
  let exited: string | undefined

  child.on('message', (msg: ChildReply | ChildEvent) => {
    if (!('id' in msg)) return
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok) p.resolve(msg.result)
    else if (msg.error.code) p.reject(new GrapevineError(msg.error.code as ErrorCode, msg.error.message))
    else p.reject(new Error(`${label}: ${msg.error.message}`))
  })
  child.on('exit', (code, signal) => {
    exited = `${label} exited (${signal ?? code})${tail()}`
    for (const p of pending.values()) {
      clearTimeout(p.timer)
      p.reject(new Error(exited))
    }
    pending.clear()
  })

  const call = (message: object, timeoutMs: number, what: string): Promise<unknown> => {
    if (exited) return Promise.reject(new Error(exited))
    const id = nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${label}: ${what} got no answer in ${timeoutMs} ms${tail()}`))
      }, timeoutMs)
      pending.set(id, { resolve, reject, timer })
      child.send({ id, ...message }, (err) => {
        if (!err) return
        pending.delete(id)
        clearTimeout(timer)
        reject(new Error(`${label}: cannot send ${what}: ${err.message}`))
      })
    })
  }

  const handle: PeerHandle = {
    host: opts.host,
    pid: child.pid ?? -1,
    profileDir: opts.profileDir,
    request: (method, params, timeoutMs = DEFAULT_CALL_TIMEOUT_MS) =>
      call({ op: 'request', method, params }, timeoutMs, `request ${method}`) as Promise<ClientResults[typeof method]>,
    addrs: (timeoutMs = DEFAULT_CALL_TIMEOUT_MS) => call({ op: 'addrs' }, timeoutMs, 'addrs') as Promise<string[]>,
    connectionsTo: (peerId, timeoutMs = DEFAULT_CALL_TIMEOUT_MS) =>
      call({ op: 'connections', peer: peerId }, timeoutMs, 'connections') as Promise<string[]>,
    connectionIdsTo: (peerId, timeoutMs = DEFAULT_CALL_TIMEOUT_MS) =>
      call({ op: 'connections', peer: peerId, ids: true }, timeoutMs, 'connections') as Promise<string[]>,
    stats: (timeoutMs = DEFAULT_CALL_TIMEOUT_MS) => call({ op: 'stats' }, timeoutMs, 'stats') as Promise<ReturnType<Peer['stats']>>,
    stop: async (timeoutMs = 10_000) => {
      if (exited) return
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      await call({ op: 'stop' }, timeoutMs, 'stop').catch(() => child.kill('SIGKILL'))
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await gone
      clearTimeout(timer)
    },
    kill: () => {
      child.kill('SIGKILL')
    },
  }

  const startTimeoutMs = opts.startTimeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${label} did not start in ${startTimeoutMs} ms${tail()}`))
    }, startTimeoutMs)
    const onMessage = (msg: ChildReply | ChildEvent): void => {
      if ('id' in msg) return
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (msg.op === 'ready') resolve(handle)
      else reject(new Error(`${label} failed to start: ${msg.error.message}${tail()}`))
    }
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer)
      reject(new Error(`${label} exited (${signal ?? code}) before it was ready${tail()}`))
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}
