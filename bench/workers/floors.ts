/**
 * Floors: a loopback TCP round trip between two processes (one runs `listen`, the other `ping`),
 * bare Automerge in one process (make a one-keystroke change, apply it to a second copy; W4's trace in
 * frames; W2's catch-up of K keystrokes), and one
 * libp2p hop between two processes on the stack Grapevine uses (TCP, Noise, Yamux), with no
 * application code: through gossipsub with its default signing, or on a stream of its own (one runs
 * `gossipListen`, the other `gossipDial` and `gossipSend`; arrival minus send on the machine-wide clock).
 * And the hops of Grapevine's live path with no application code (mode `path`, four processes): an editor
 * writes to its peer on a Unix socket, the peer passes the bytes on a libp2p stream to the other peer, and
 * that one passes them on a Unix socket to its editor (`socketListen`, `socketConnect`, `socketSend`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, StrictNoSign, type GossipSub } from '@libp2p/gossipsub'
import type { Stream } from '@libp2p/interface'
import { createHash } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { serve } from '../lib/serve.ts'
import { now } from '../lib/stats.ts'
import { loadTrace } from '../lib/trace.ts'

let server: Server | null = null
let node: Libp2p<{ pubsub: GossipSub }> | null = null
/** Arrival time of each floor message, by its index. */
const arrivals: number[] = []
const TOPIC = 'floor'

const STREAM_PROTOCOL = '/floor/stream/1'
/** The dialler's outbound stream (mode `stream`). */
let out: Stream | null = null

/**
 * `signed`: gossipsub as configured by default (every message signed and verified by libp2p).
 * `unsigned`: StrictNoSign with a SHA-256 content id (not used by Grapevine; kept to compare: about a third faster than `signed` here).
 * `stream`: no gossipsub; one libp2p stream of its own from sender to receiver.
 * `path`: as `stream`, and what arrives on the stream is passed on to this process's Unix socket client (`socketListen`).
 */
type FloorMode = 'signed' | 'unsigned' | 'stream' | 'path'

function record(d: Uint8Array): void {
  arrivals[new DataView(d.buffer, d.byteOffset).getUint32(0)] = now()
}

/**
 * Calls `take` with each fixed-size frame (`frameBytes`) of a byte stream whose chunks may split or join
 * them; the frames are the floor's messages, each carrying its index in its first 4 bytes.
 */
function framer(take: (frame: Uint8Array) => void): (chunk: Uint8Array) => void {
  let pending = new Uint8Array(0)
  return (chunk) => {
    const all = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let at = 0
    while (all.length - at >= frameBytes) {
      take(all.subarray(at, at + frameBytes))
      at += frameBytes
    }
    pending = all.slice(at)
  }
}

/**
 * Sends `count` floor messages of `bytes` bytes, each carrying its index in its first 4 bytes, `intervalMs`
 * apart, with `send`; returns the time each was handed to it.
 */
async function sendFrames(count: number, intervalMs: number, bytes: number, send: (data: Uint8Array) => unknown): Promise<number[]> {
  const sent: number[] = []
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(bytes)
    new DataView(data.buffer).setUint32(0, i)
    sent.push(now())
    await send(data)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  return sent
}

/** Mode `path`: the Unix socket this process listens on, and its one client (the editor of this peer). */
let socketPath: string | null = null
let socketClient: Socket | null = null

async function gossipNode(mode: FloorMode): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        ...(mode === 'unsigned'
          ? { globalSignaturePolicy: StrictNoSign, msgIdFn: (m: { data: Uint8Array }) => createHash('sha256').update(m.data).digest() }
          : {}),
      }),
    },
  })
  n.services.pubsub.subscribe(TOPIC)
  n.services.pubsub.addEventListener('message', (e) => record(e.detail.data))
  await n.handle(STREAM_PROTOCOL, (stream) => {
    // Frames are the fixed-size messages the sender writes; a partial read is stitched by its index.
    const take = framer(mode === 'path' ? (f) => socketClient?.write(f) : record)
    stream.addEventListener('message', (e) => take(e.data instanceof Uint8Array ? e.data : e.data.subarray()))
  })
  return n
}
let frameBytes = 533

serve(
  {
    async listen() {
      server = createServer((sock) => {
        sock.setNoDelay(true)
        sock.on('data', (d) => sock.write(d))
      })
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
      const a = server.address()
      return typeof a === 'object' && a ? a.port : 0
    },
    /** Round trips of a 64-byte message, one at a time, `intervalMs` apart. */
    async ping({ port, count, intervalMs }: { port: number; count: number; intervalMs: number }) {
      const sock = connect(port, '127.0.0.1')
      sock.setNoDelay(true)
      await new Promise<void>((r) => sock.once('connect', () => r()))
      const msg = Buffer.alloc(64, 1)
      const rtts: number[] = []
      for (let i = 0; i < count; i++) {
        const t0 = now()
        let got = 0
        await new Promise<void>((r) => {
          const on = (d: Buffer): void => {
            got += d.length
            if (got >= msg.length) {
              sock.off('data', on)
              r()
            }
          }
          sock.on('data', on)
          sock.write(msg)
        })
        rtts.push(now() - t0)
        if (intervalMs) await new Promise((r) => setTimeout(r, intervalMs))
      }
      sock.destroy()
      return rtts
    },
    /** A gossipsub node that records when each floor message arrives; returns its address. */
    async gossipListen({ mode = 'signed', bytes = 533 }: { mode?: FloorMode; bytes?: number } = {}) {
      frameBytes = bytes
      arrivals.length = 0
      node = await gossipNode(mode)
      return node.getMultiaddrs()[0]!.toString()
    },
    /** A second node, connected to `addr`, once each side knows the other is subscribed. */
    async gossipDial({ addr, mode = 'signed' }: { addr: string; mode?: FloorMode }) {
      node = await gossipNode(mode)
      const conn = await node.dial(multiaddr(addr))
      if (mode === 'stream' || mode === 'path') {
        out = await conn.newStream(STREAM_PROTOCOL)
        return true
      }
      const deadline = now() + 10_000
      while (node.services.pubsub.getSubscribers(TOPIC).length === 0) {
        if (now() > deadline) throw new Error('the other gossipsub node never subscribed')
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise((r) => setTimeout(r, 1500)) // a heartbeat: the mesh forms
      return true
    },
    /** Publishes `count` messages of `bytes` bytes (the size of one keystroke's message), `intervalMs` apart; returns the send times. */
    gossipSend({ count, intervalMs, bytes }: { count: number; intervalMs: number; bytes: number }) {
      return sendFrames(count, intervalMs, bytes, async (data) => {
        if (out) out.send(data)
        else await node!.services.pubsub.publish(TOPIC, data)
      })
    },
    gossipArrivals() {
      return arrivals
    },
    /**
     * Mode `path`, a peer: listens on a Unix socket (as a peer's control socket) for its editor; frames from it
     * go out on the libp2p stream (`gossipDial`), frames from the stream go to it (`gossipListen`). Returns the path.
     */
    async socketListen({ bytes = 533 }: { bytes?: number } = {}) {
      frameBytes = bytes
      socketPath = join(tmpdir(), `gv-floor-${process.pid}.sock`)
      rmSync(socketPath, { force: true })
      server = createServer((sock) => {
        socketClient = sock
        const take = framer((f) => out?.send(f))
        sock.on('data', (d) => take(d))
      })
      await new Promise<void>((r) => server!.listen(socketPath!, () => r()))
      return socketPath
    },
    /** Mode `path`, an editor: connects to its peer's socket and records when each frame arrives on it. */
    async socketConnect({ path, bytes = 533 }: { path: string; bytes?: number }) {
      frameBytes = bytes
      arrivals.length = 0
      socketClient = connect(path)
      await new Promise<void>((r, reject) => {
        socketClient!.once('connect', () => r())
        socketClient!.once('error', reject)
      })
      socketClient.on('data', framer(record))
      return true
    },
    /** Mode `path`, the typing editor: writes `count` frames of `bytes` bytes `intervalMs` apart; returns the send times. */
    socketSend({ count, intervalMs, bytes }: { count: number; intervalMs: number; bytes: number }) {
      return sendFrames(count, intervalMs, bytes, (data) => {
        socketClient!.write(data)
      })
    },
    /**
     * W4's floor: the trace typed in exactly the frames `sizes` gives (keystrokes per frame), each frame one
     * change on A applied to copies B and C, in this one process: no network, no disk, no checks. Returns ms
     * from the first keystroke until B and C hold the final text.
     */
    traceFloor({ sizes }: { sizes: number[] }) {
      const keys = loadTrace().keys
      let a = A.from<{ text: string }>({ text: '' })
      let b = A.load<{ text: string }>(A.save(a))
      let c = A.load<{ text: string }>(A.save(a))
      let k = 0
      const t0 = now()
      for (const n of sizes) {
        a = A.change(a, (d) => {
          for (let i = 0; i < n; i++) {
            const [pos, del, ins] = keys[k++]!
            A.splice(d, ['text'], pos, del, ins)
          }
        })
        const change = A.getLastLocalChange(a)!
        ;[b] = A.applyChanges(b, [change])
        ;[c] = A.applyChanges(c, [change])
      }
      const ms = now() - t0
      if (b.text !== a.text || c.text !== a.text || k !== sizes.reduce((x, y) => x + y, 0)) throw new Error('the floor copies differ')
      return { ms, chars: a.text.length }
    },
    /**
     * W2's floor: B taking the first `k` keystrokes of the trace, each one change, in this one process (no
     * network, no disk): applied as changes (`A.applyChanges`, what a sync message carries), loaded as
     * bundles of 1,024 (`A.loadIncremental`, Grapevine's runs: runs.ts seals every 1,024), and loaded after
     * each bundle is read (`A.readBundle`, the check Grapevine's receiver makes of a run). Each `reps` times
     * on a fresh copy, the three in turn; ms each.
     */
    catchupFloor({ k, reps }: { k: number; reps: number }) {
      const keys = loadTrace().keys
      let a = A.from<{ text: string }>({ text: '' })
      const base = A.save(a)
      const changes: Uint8Array[] = []
      const hashes: string[] = []
      for (let i = 0; i < k; i++) {
        const [pos, del, ins] = keys[i]!
        a = A.change(a, (d) => A.splice(d, ['text'], pos, del, ins))
        const c = A.getLastLocalChange(a)!
        changes.push(c)
        hashes.push(A.decodeChange(c).hash!)
      }
      const bundles: Uint8Array[] = []
      for (let i = 0; i < k; i += 1024) bundles.push(A.saveBundle(a, hashes.slice(i, i + 1024)))
      const all = Buffer.concat(bundles)
      const out = { applyMs: [] as number[], loadMs: [] as number[], checkMs: [] as number[] }
      const timed = (into: number[], take: (b: A.Doc<{ text: string }>) => A.Doc<{ text: string }>): void => {
        const b = A.load<{ text: string }>(base)
        const t0 = now()
        const taken = take(b)
        into.push(now() - t0)
        if (taken.text !== a.text) throw new Error('the floor copy differs')
      }
      for (let r = 0; r < reps; r++) {
        timed(out.applyMs, (b) => A.applyChanges(b, changes)[0])
        timed(out.loadMs, (b) => A.loadIncremental(b, all))
        timed(out.checkMs, (b) => {
          for (const x of bundles) if (A.readBundle(x).changes.length === 0) throw new Error('an empty bundle')
          return A.loadIncremental(b, all)
        })
      }
      return out
    },
    /** Per keystroke: change on one copy, take its bytes, apply them to another copy. */
    automerge({ keys }: { keys: number }) {
      let a = A.from<{ text: string }>({ text: '' })
      let b = A.load<{ text: string }>(A.save(a))
      const times: number[] = []
      for (let k = 0; k < keys; k++) {
        const t0 = now()
        a = A.change(a, (d) => {
          A.splice(d, ['text'], d.text.length, 0, 'x')
        })
        ;[b] = A.applyChanges(b, [A.getLastLocalChange(a)!])
        times.push(now() - t0)
      }
      if (b.text !== a.text) throw new Error('bare Automerge copies differ')
      return times
    },
  },
  async () => {
    socketClient?.destroy()
    server?.close()
    if (socketPath) rmSync(socketPath, { force: true })
    await out?.close().catch(() => {})
    await node?.stop()
  },
)
