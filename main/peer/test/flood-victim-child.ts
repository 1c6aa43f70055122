/**
 * Child process for flood.test.ts: the victim peer in its own process, so that the memory measured is
 * its own. It makes a workspace with one document and an invite, prints one JSON line
 * ({ addr, ws, docId, invite }), then answers commands on stdin, one JSON line each:
 *   mem    heap used, external (buffers) and RSS after a full garbage collection
 *   log    lines logged per level and per kind (the message up to its first peer id or digit), and the first few
 *   text   the document's text
 *   stats  the peer's counters
 * Usage: node --expose-gc flood-victim-child.ts <profileDir>
 */
import { createInterface } from 'node:readline'
import type { Log, LogLevel } from '../log.ts'
import { startPeer } from './helpers.ts'

const [profileDir] = process.argv.slice(2)
if (!profileDir) throw new Error('usage: flood-victim-child.ts <profileDir>')
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')
setTimeout(() => process.exit(3), 10 * 60_000).unref() // bounded even if the parent forgets us

const lines: Record<LogLevel, number> = { debug: 0, info: 0, warn: 0, error: 0 }
const first: string[] = []
/** Lines per kind: the message up to its first peer id or digit (a few dozen kinds at most). */
const kinds = new Map<string, number>()
const log: Log = (level, message) => {
  lines[level]++
  if (level === 'debug') return
  if (first.length < 40) first.push(`${level} ${message}`)
  const named = `${level} ${message.split(/12D3Koo|\d/)[0]}`
  const kind = kinds.has(named) || kinds.size < 64 ? named : `${level} (other)`
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
}

const peer = await startPeer(profileDir, { name: 'Victim', log, catchupIntervalMs: 30_000 })
const c = peer.connect()
const ws = (await c.request('workspace.create', { name: 'Team' })).id
const docId = (await c.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'start' })).id
const invite = (await c.request('workspace.invite', { workspaceId: ws, approve: false })).code
process.stdout.write(`${JSON.stringify({ addr: peer.node.getMultiaddrs()[0]!.toString(), ws, docId, invite })}\n`)

const answer = async (command: string): Promise<unknown> => {
  switch (command) {
    case 'mem': {
      // Twice: the first collection may only schedule finalizers that free more.
      gc()
      await new Promise((r) => setTimeout(r, 50))
      gc()
      const { heapUsed, external, rss } = process.memoryUsage()
      // Socket and stream buffers live outside the JS heap, in `external`.
      return { heapUsed, external, rss }
    }
    case 'log':
      return { lines, first, kinds: Object.fromEntries(kinds) }
    case 'text':
      return { text: (await c.request('doc.read', { docId })).text }
    case 'stats':
      return { ...peer.stats(), connections: peer.node.getConnections().length }
    default:
      return { error: `unknown command ${command}` }
  }
}
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') break
  process.stdout.write(`${JSON.stringify(await answer(line))}\n`)
}
await peer.stop()
process.exit(0)
