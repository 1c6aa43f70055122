/**
 * One Grapevine peer in a child process, for tests that put peers in network namespaces.
 *
 * A process cannot move itself into another network namespace from Node, so the harness starts this script
 * with `ip netns exec <ns> <node> peer-child.ts '<config json>'`. `ip netns exec` execs the command in place
 * (same PID, inherited file descriptors), so Node's IPC channel survives it: the parent drives the peer with
 * messages (advanced serialization, so Uint8Array results arrive as Uint8Array):
 *   { id, op: 'request', method, params } → { id, ok: true, result } | { id, ok: false, error: { message, code? } }
 *   { id, op: 'stats' } → peer.stats();  { id, op: 'addrs' } → the node's multiaddrs as strings
 *   { id, op: 'connections', peer, ids? } → the remote addresses (or libp2p's ids) of its open connections to `peer`
 *   { id, op: 'stop' } → stops the peer, answers, exits.
 * It sends { op: 'ready', addrs } once listening, and { op: 'failed', error } if the peer cannot start.
 *
 * The config JSON goes into createPeer as it is (profileDir, host, port, name and anything added later such as
 * relay settings), over the test defaults of `startPeer` in ../helpers.ts. If the parent goes away the IPC
 * channel closes and the peer stops, so a crashed test leaves no peer behind.
 */
import type { PeerConfig } from '../../peer.ts'
import { createPeer } from '../../peer.ts'
import { testLog } from '../helpers.ts'
import { survivesUncaught } from '../../net/failure.ts'

type Incoming =
  | { id: number; op: 'request'; method: string; params: unknown }
  | { id: number; op: 'connections'; peer: string; ids?: boolean }
  | { id: number; op: 'stats' | 'addrs' | 'stop' }

function send(message: object): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve()
    process.send(message, undefined, {}, () => resolve())
  })
}

function errorOf(err: unknown): { message: string; code?: string } {
  const e = err instanceof Error ? err : new Error(String(err))
  const code = (e as Error & { code?: unknown }).code
  return typeof code === 'string' ? { message: e.message, code } : { message: e.message }
}

if (!process.send) throw new Error('peer-child.ts must be started with an IPC channel (stdio: [..., "ipc"])')
const raw = process.argv[2]
if (!raw) throw new Error("usage: peer-child.ts '<PeerConfig as JSON: profileDir, host, port, ...>'")
const config = JSON.parse(raw) as PeerConfig
if (!config.profileDir || !config.host)
  throw new Error('peer-child.ts: the config needs profileDir and host (the namespace address to listen on)')

// As the app's peer process (host/utility.ts): libp2p's use of a closed stream is survived, anything else ends it.
process.on('uncaughtException', (err) => {
  if (survivesUncaught(err, (level, message) => process.stderr.write(`${level}: ${message}\n`))) return
  process.stderr.write(`${err.stack ?? err.message}\n`)
  process.exit(1)
})

let peer: Awaited<ReturnType<typeof createPeer>>
try {
  peer = await createPeer({ port: 0, mdns: false, catchupIntervalMs: 3_000, log: testLog, ...config })
} catch (err) {
  await send({ op: 'failed', error: errorOf(err) })
  process.exit(1)
}
const client = peer.connect()
const addrs = (): string[] => peer.node.getMultiaddrs().map(String)

let stopping: Promise<void> | undefined
const stop = (): Promise<void> => {
  stopping ??= (async () => {
    client.close()
    await peer.stop()
  })()
  return stopping
}

process.on('message', (msg: Incoming) => {
  void (async () => {
    try {
      switch (msg.op) {
        case 'request': {
          // The method name and params come from the test; the peer validates them like any client's.
          const request = client.request as (method: string, params: unknown) => Promise<unknown>
          await send({ id: msg.id, ok: true, result: await request(msg.method, msg.params) })
          break
        }
        case 'stats':
          await send({ id: msg.id, ok: true, result: peer.stats() })
          break
        case 'addrs':
          await send({ id: msg.id, ok: true, result: addrs() })
          break
        case 'connections': {
          const open = peer.node.getConnections().filter((c) => c.status === 'open' && c.remotePeer.toString() === msg.peer)
          await send({ id: msg.id, ok: true, result: open.map((c) => (msg.ids ? c.id : c.remoteAddr.toString())) })
          break
        }
        case 'stop':
          await stop()
          await send({ id: msg.id, ok: true, result: null })
          process.exit(0)
          break
        default:
          await send({ id: (msg as { id: number }).id, ok: false, error: { message: `unknown op '${(msg as { op: string }).op}'` } })
      }
    } catch (err) {
      await send({ id: msg.id, ok: false, error: errorOf(err) })
    }
  })()
})

// The parent is gone (ended, crashed, killed): stop rather than run on unsupervised in the namespace.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0))
})

await send({ op: 'ready', addrs: addrs() })
