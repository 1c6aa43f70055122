/**
 * A user-space TCP proxy that adds latency and loss-like stalls, for the network-namespace tests.
 *
 * This kernel has no `tc netem`, so a slow or lossy path between two namespaces has to be made in user space:
 * the proxy listens on one address, forwards each connection to a target, and delays every chunk it reads by a
 * fixed one-way delay (both directions, so 100 ms each way is a 200 ms round trip). Loss is emulated as TCP
 * would make an application feel it — not as missing bytes (TCP retransmits them) but as a stall: with seeded
 * probability `loss` per chunk read, that chunk waits an extra retransmission timeout, and everything after it
 * waits behind it (head-of-line blocking, byte order preserved). The TCP handshake itself is not delayed.
 *
 * Seeded (the seed is printed) so a run can be replayed; bounded (a direction stops reading while too many
 * bytes wait to be delivered); closes cleanly (timers cleared, sockets destroyed).
 *
 * In-process: `startProxy({...})`. As a script, e.g. inside a namespace:
 *   npx node main/peer/test/netns/proxy.ts --listen ip:port --target ip:port --delay-ms 100 --loss 0.02 --seed N
 * which prints `LISTENING <ip>:<port> seed=<N>` once it accepts connections, and closes on SIGTERM/SIGINT.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { mulberry32, testSeed } from '../random.ts'

export interface ProxyOptions {
  /** Where to listen; port 0 (the default) picks a free one. */
  listen: { host: string; port?: number }
  target: { host: string; port: number }
  /** One-way delay added to every chunk, in each direction. */
  delayMs: number
  /** Probability per chunk read that it (and everything after it) is held an extra retransmission timeout. */
  loss?: number
  /** The extra hold of a "lost" chunk, drawn uniformly from [min, max] ms (TCP's minimum RTO is 200 ms). */
  rtoMs?: readonly [number, number]
  /** Seed of the loss draws (default: GRAPEVINE_SEED, else a fresh one); printed, so a run can be replayed. */
  seed?: number
  /** Bytes that may wait for delivery per direction before the proxy stops reading from the sender. */
  maxBufferedBytes?: number
}

export interface ProxyStats {
  connections: number
  /** Bytes delivered, both directions. */
  bytes: number
  /** Chunks held back by an emulated loss. */
  stalls: number
}

export interface Proxy {
  readonly host: string
  readonly port: number
  readonly seed: number
  stats(): ProxyStats
  /** Stops listening and drops every connection; resolves once the listener is closed. */
  close(): Promise<void>
}

const DEFAULT_RTO: readonly [number, number] = [200, 300]
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const loss = opts.loss ?? 0
  if (!(loss >= 0 && loss < 1)) throw new Error(`proxy loss must be in [0, 1), got ${loss}`)
  if (!(opts.delayMs >= 0)) throw new Error(`proxy delay must be ≥ 0 ms, got ${opts.delayMs}`)
  const rto = opts.rtoMs ?? DEFAULT_RTO
  if (!(rto[0] >= 0 && rto[1] >= rto[0])) throw new Error(`proxy rtoMs must be [min, max] with 0 ≤ min ≤ max, got [${rto.join(', ')}]`)
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED
  const seed = opts.seed ?? testSeed()
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`proxy seed must be an integer in [0, 2^32), got ${seed}`)
  const rnd = mulberry32(seed)
  const stats: ProxyStats = { connections: 0, bytes: 0, stalls: 0 }
  const live = new Set<() => void>()
  const shape: Shape = { delayMs: opts.delayMs, loss, rto, maxBuffered, rnd, stats }

  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++
    const upstream = connect({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true })
    const up = pump(client, upstream, shape)
    const down = pump(upstream, client, shape)
    const drop = (): void => {
      up.stop()
      down.stop()
      client.destroy()
      upstream.destroy()
      live.delete(drop)
    }
    live.add(drop)
    // An error on either side (a reset, a refused upstream) ends the whole connection, like a broken path.
    client.on('error', drop)
    upstream.on('error', drop)
    let closed = 0
    const onClose = (): void => {
      if (++closed === 2) live.delete(drop)
    }
    client.on('close', onClose)
    upstream.on('close', onClose)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listen.port ?? 0, opts.listen.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy: the listener has no TCP address')
  // Not seededRandom's line: its hint (GRAPEVINE_SEED) replays a test's seed, and this seed is usually derived from one.
  console.log(
    `proxy ${opts.listen.host}:${address.port} → ${opts.target.host}:${opts.target.port}: seed=${seed} (replay with --seed / startProxy({ seed }))`,
  )
  let closing: Promise<void> | undefined
  return {
    host: opts.listen.host,
    port: address.port,
    seed,
    stats: () => ({ ...stats }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const drop of [...live]) drop()
      })
      return closing
    },
  }
}

interface Shape {
  delayMs: number
  loss: number
  rto: readonly [number, number]
  maxBuffered: number
  rnd: () => number
  stats: ProxyStats
}

/**
 * One direction of a connection: each chunk read from `from` is written to `to` at its due time. Due times
 * never decrease, so a held chunk holds everything behind it and bytes stay in order; the sender's FIN travels
 * the same way, after its data.
 */
function pump(from: Socket, to: Socket, shape: Shape): { stop(): void } {
  const queue: { due: number; data: Buffer | null }[] = []
  let lastDue = 0
  let waiting = 0
  let timer: NodeJS.Timeout | undefined
  let paused = false

  const enqueue = (data: Buffer | null): void => {
    const now = performance.now()
    let due = now + shape.delayMs
    if (data && shape.loss > 0 && shape.rnd() < shape.loss) {
      due += shape.rto[0] + shape.rnd() * (shape.rto[1] - shape.rto[0])
      shape.stats.stalls++
    }
    due = Math.max(due, lastDue)
    lastDue = due
    queue.push({ due, data })
    if (data) waiting += data.length
    if (!paused && waiting + to.writableLength > shape.maxBuffered) {
      paused = true
      from.pause()
    }
    schedule()
  }

  const maybeResume = (): void => {
    if (paused && waiting + to.writableLength <= shape.maxBuffered / 2) {
      paused = false
      from.resume()
    }
  }

  const flush = (): void => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { data } = queue.shift()!
      if (to.destroyed) continue
      if (data === null) {
        to.end()
      } else {
        waiting -= data.length
        shape.stats.bytes += data.length
        to.write(data)
      }
    }
    maybeResume()
    schedule()
  }

  const schedule = (): void => {
    if (timer || queue.length === 0) return
    timer = setTimeout(flush, Math.max(0, Math.ceil(queue[0]!.due - performance.now())))
  }

  from.on('data', (data: Buffer) => enqueue(data))
  from.on('end', () => enqueue(null))
  to.on('drain', maybeResume)
  return {
    stop: () => {
      clearTimeout(timer)
      timer = undefined
      queue.length = 0
    },
  }
}

function hostPort(flag: string, value: string | undefined): { host: string; port: number } {
  const m = value?.match(/^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/)
  if (!m) throw new Error(`${flag} needs <ipv4>:<port>, got '${value ?? ''}'`)
  return { host: m[1]!, port: Number(m[2]) }
}

function numberFlag(flag: string, value: string | undefined): number {
  const n = Number(value)
  if (value === undefined || value === '' || !Number.isFinite(n)) throw new Error(`${flag} needs a number, got '${value ?? ''}'`)
  return n
}

async function main(argv: string[]): Promise<void> {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!
    if (!['--listen', '--target', '--delay-ms', '--loss', '--seed'].includes(flag)) {
      throw new Error(`unknown argument '${flag}'; usage: proxy.ts --listen ip:port --target ip:port --delay-ms N [--loss P] [--seed N]`)
    }
    flags.set(flag, argv[i + 1] ?? '')
  }
  const seed = flags.has('--seed') ? numberFlag('--seed', flags.get('--seed')) : undefined
  const proxy = await startProxy({
    listen: hostPort('--listen', flags.get('--listen')),
    target: hostPort('--target', flags.get('--target')),
    delayMs: numberFlag('--delay-ms', flags.get('--delay-ms')),
    loss: flags.has('--loss') ? numberFlag('--loss', flags.get('--loss')) : 0,
    ...(seed === undefined ? {} : { seed }),
  })
  process.stdout.write(`LISTENING ${proxy.host}:${proxy.port} seed=${proxy.seed}\n`)
  const stop = (): void => {
    void proxy.close().then(() => {
      const s = proxy.stats()
      process.stdout.write(`CLOSED connections=${s.connections} bytes=${s.bytes} stalls=${s.stalls}\n`)
      process.exit(0)
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`proxy: ${err.message}\n`)
    process.exit(2)
  })
}
