/**
 * Child process for flood.test.ts: strangers flooding a victim peer on 127.0.0.1, for a bounded time.
 *
 *   connections: one stranger (one PeerId) opens <count> connections, half of them full libp2p dials
 *                (Noise, each a new connection) and half raw TCP sockets that never say a word, and
 *                floods the join protocol with junk on every connection it gets.
 *   many:        <count> strangers, each its own PeerId: each keeps dialling, subscribes to the
 *                workspace's topic and to junk topics, gossips junk, and opens junk and silent streams
 *                on the catch-up and join protocols.
 *
 * Prints one JSON line with what it did when it is done, then exits. Never dials anything but <victimAddr>.
 * Usage: node flood-attacker-child.ts <victimAddr> <workspaceId> connections|many <count> <seconds>
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type GrapevineNode } from '../net/node.ts'
import { CATCHUP_PROTOCOL, JOIN_PROTOCOL, workspaceTopic } from '../wire/peer-protocol.ts'

const [victimAddr, ws, mode, countArg, secondsArg] = process.argv.slice(2)
const count = Number(countArg)
const seconds = Number(secondsArg)
if (!victimAddr || !ws || (mode !== 'connections' && mode !== 'many') || !(count > 0) || !(seconds > 0)) {
  throw new Error('usage: flood-attacker-child.ts <victimAddr> <workspaceId> connections|many <count> <seconds>')
}
const target = multiaddr(victimAddr)
const host = target.getComponents().find((c) => c.name === 'ip4')?.value
const port = Number(target.getComponents().find((c) => c.name === 'tcp')?.value)
if (host !== '127.0.0.1') throw new Error(`this flood only ever targets 127.0.0.1, not ${host}`)
// Bounded even if the parent forgets us.
setTimeout(() => process.exit(3), (seconds + 60) * 1000).unref()

const deadline = Date.now() + seconds * 1000
const stats = {
  nodes: 0,
  dials: 0,
  dialFailures: 0,
  connectionsOpened: 0,
  rawSockets: 0,
  published: 0,
  streams: 0,
  streamFailures: 0,
  maxOpen: 0,
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const topic = workspaceTopic(ws)

/** A junk stream on `protocol`: a length-prefixed frame of random bytes (or, when `silent`, nothing at all, left open). */
async function junkStream(conn: Connection, protocol: string, silent: boolean): Promise<void> {
  stats.streams++
  try {
    // Negotiated at once (libp2p would otherwise send the protocol with the first write, and a silent stream with none).
    const stream = await conn.newStream(protocol, { signal: AbortSignal.timeout(5_000), negotiateFully: true })
    if (silent) return // the victim's deadline for a stranger's stream must end it
    await lpStream(stream).write(randomBytes(64 + Math.floor(Math.random() * 4096)), { signal: AbortSignal.timeout(5_000) })
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => stream.abort(new Error('done')))
  } catch {
    stats.streamFailures++
  }
}

async function startStranger(): Promise<GrapevineNode> {
  const node = await createNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    appScore: () => 0,
  })
  stats.nodes++
  return node
}

const openConns = (node: GrapevineNode): Connection[] => node.getConnections().filter((c) => c.status === 'open')

async function connections(): Promise<void> {
  const node = await startStranger()
  const sockets: Socket[] = []
  let i = 0
  // Dials in waves of 25, as fast as they complete, until <count> were attempted.
  const dialer = async (): Promise<void> => {
    while (i < count && Date.now() < deadline) {
      const n = i++
      if (n % 2 === 1) {
        // A raw socket that never speaks: it holds one of the victim's pending-handshake slots until its timeout.
        const s = connect({ host: '127.0.0.1', port })
        s.on('error', () => {})
        sockets.push(s)
        stats.rawSockets++
        await sleep(5)
        continue
      }
      stats.dials++
      try {
        await node.dial(target, { force: true, signal: AbortSignal.timeout(5_000) })
        stats.connectionsOpened++
      } catch {
        stats.dialFailures++
      }
    }
  }
  const flooder = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const conns = openConns(node)
      stats.maxOpen = Math.max(stats.maxOpen, conns.length)
      await Promise.all(conns.map((c) => junkStream(c, JOIN_PROTOCOL, stats.streams % 4 === 0)))
      await sleep(20)
    }
  }
  await Promise.all([...Array.from({ length: 25 }, dialer), flooder()])
  for (const s of sockets) s.destroy()
  await node.stop()
}

async function many(): Promise<void> {
  const nodes: GrapevineNode[] = []
  for (let k = 0; k < count; k += 10) nodes.push(...(await Promise.all(Array.from({ length: Math.min(10, count - k) }, startStranger))))
  const run = async (node: GrapevineNode, k: number): Promise<void> => {
    node.services.pubsub.subscribe(topic)
    for (let j = 0; j < 20; j++) node.services.pubsub.subscribe(`/junk/${k}/${j}`)
    let tick = 0
    while (Date.now() < deadline) {
      tick++
      let conns = openConns(node)
      if (conns.length === 0) {
        stats.dials++
        try {
          await node.dial(target, { signal: AbortSignal.timeout(5_000) })
        } catch {
          stats.dialFailures++
          await sleep(300 + Math.random() * 500)
          continue
        }
        conns = openConns(node)
      }
      const conn = conns[0]
      if (!conn) continue
      const jobs: Promise<unknown>[] = [junkStream(conn, tick % 2 ? JOIN_PROTOCOL : CATCHUP_PROTOCOL, tick % 5 === 0)]
      jobs.push(
        node.services.pubsub.publish(topic, randomBytes(256 + Math.floor(Math.random() * 4096))).then(
          () => stats.published++,
          () => {},
        ),
      )
      await Promise.all(jobs)
      await sleep(100)
    }
  }
  await Promise.all(nodes.map(run))
  await Promise.allSettled(nodes.map((n) => n.stop()))
}

await (mode === 'connections' ? connections() : many())
process.stdout.write(`${JSON.stringify(stats)}\n`)
process.exit(0)
