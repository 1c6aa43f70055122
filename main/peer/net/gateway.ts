/**
 * The IPv4 default gateway: the router NAT-PMP asks (RFC 6886 speaks only to it). Each desktop OS is asked
 * the way it always answers: Linux's routing table in /proc, `route -n get default` on macOS, and
 * `route print` on Windows (its numeric rows are the same in every language). The parsers are pure and
 * tested with each OS's output; only Linux's is exercised for real here.
 *
 * No library: `default-gateway` (the usual one) asks Windows through `wmic`, which Windows 11 24H2 no longer
 * ships.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { isIPv4 } from 'node:net'

const COMMAND_MS = 3_000
/** A routing table is a few KiB; anything far larger is not one. */
const MAX_OUTPUT_BYTES = 256 * 1024

/** The default gateway's IPv4 address on this machine, or null when there is none or it cannot be told. */
export async function defaultGateway(platform: NodeJS.Platform = process.platform): Promise<string | null> {
  try {
    if (platform === 'linux') return gatewayFromProcRoute(await readFile('/proc/net/route', 'utf8'))
    if (platform === 'darwin' || platform.endsWith('bsd')) return gatewayFromRouteGet(await run('route', ['-n', 'get', 'default']))
    if (platform === 'win32') return gatewayFromRoutePrint(await run('route', ['print', '-4', '0.0.0.0']))
  } catch {
    // No table, no command, or a timeout: no gateway known, so no NAT-PMP (UPnP does not need it).
  }
  return null
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: COMMAND_MS, maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true }, (err, stdout) =>
      err ? reject(err) : resolve(String(stdout)),
    )
  })
}

/**
 * Linux's /proc/net/route: the row whose destination and mask are 0 and whose flags say "up" and "gateway",
 * with the lowest metric. Addresses are hexadecimal in the machine's byte order (little-endian on every
 * desktop Linux), so 010200C0 is 192.0.2.1.
 */
export function gatewayFromProcRoute(table: string): string | null {
  let best: { ip: string; metric: number } | null = null
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8) continue
    const [, dest, gw, flags, , , metric, mask] = f
    const RTF_UP = 0x1
    const RTF_GATEWAY = 0x2
    const fl = Number.parseInt(flags!, 16)
    if (dest !== '00000000' || mask !== '00000000' || !(fl & RTF_UP) || !(fl & RTF_GATEWAY)) continue
    if (!/^[0-9A-Fa-f]{8}$/.test(gw!)) continue
    const n = Number.parseInt(gw!, 16)
    const ip = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.')
    const m = Number(metric)
    if (ip !== '0.0.0.0' && (!best || m < best.metric)) best = { ip, metric: m }
  }
  return best?.ip ?? null
}

/** macOS and the BSDs: `route -n get default` prints "gateway: 192.168.1.1" (or an interface name when there is none). */
export function gatewayFromRouteGet(out: string): string | null {
  const m = /^\s*gateway:\s*(\S+)\s*$/m.exec(out)
  return m && isIPv4(m[1]!) ? m[1]! : null
}

/**
 * Windows: `route print -4 0.0.0.0` lists the active default routes as rows of destination, mask, gateway,
 * interface and metric; the lowest metric wins. A route with no gateway says "On-link" (or its translation)
 * and is skipped. Persistent routes, listed after the active ones, are not in effect and are skipped too.
 */
export function gatewayFromRoutePrint(out: string): string | null {
  let best: { ip: string; metric: number } | null = null
  for (const line of out.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/)
    // Persistent routes have 4 columns (no interface); active ones have 5.
    if (f.length !== 5 || f[0] !== '0.0.0.0' || f[1] !== '0.0.0.0' || !isIPv4(f[2]!) || !isIPv4(f[3]!)) continue
    const metric = Number(f[4])
    if (!Number.isFinite(metric)) continue
    if (!best || metric < best.metric) best = { ip: f[2]!, metric }
  }
  return best?.ip ?? null
}
