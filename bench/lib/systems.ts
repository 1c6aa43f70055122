/**
 * Deployments of N collaborators on one shared text, one per system, each collaborator in its own
 * process (except automerge-repo over MessageChannel, all in one process by design):
 *  - Grapevine: N peers joined by invites, dialled into a full mesh (what mDNS does on a LAN), a client
 *    replica in each; the writer is the last to join (not the owner), and its editor (replica) runs in
 *    a process of its own over the peer's control socket, as the app's renderer does.
 *  - automerge-repo (WS): a sync server (Repo + NodeFS + WebSocket server adapter) and N clients
 *    (Repo + NodeFS + BrowserWebSocketClientAdapter), all on 127.0.0.1.
 *  - automerge-repo (MessageChannel): N Repos in one process, the writer linked to each other one.
 *  - Yjs: y-websocket's server and N WebsocketProvider clients on 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { PEER_NODE_FLAGS } from '../../shared/peer-runtime.ts'
import { spawnWorker, stopAll, type Worker } from './workers.ts'
import { sleep } from './serve.ts'

export interface Collab {
  readonly label: string
  // biome-ignore lint/suspicious/noExplicitAny: a worker's answer is typed by the caller that knows the command
  call<T = any>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>
}

export interface Deployment {
  system: string
  writer: Collab
  receivers: Collab[]
  /** Every process this deployment started (for memory and cleanup). */
  workers: Worker[]
  /** Grapevine only: the workspace and document. */
  ids?: { workspaceId: string; docId: string }
  stop(): Promise<void>
}

export const SYSTEMS = ['grapevine', 'am-ws', 'am-mc', 'yjs'] as const
export type SystemId = (typeof SYSTEMS)[number]
export const SYSTEM_NAMES: Record<SystemId, string> = {
  grapevine: 'Grapevine',
  'am-ws': 'automerge-repo (WebSocket)',
  'am-mc': 'automerge-repo (MessageChannel, 1 process)',
  yjs: 'Yjs (y-websocket)',
}

let root = ''
/** A fresh folder under this run's temp root (removed by `removeTempRoot`). */
export function tempDir(prefix: string): string {
  if (!root) root = mkdtempSync(join(process.env['BENCH_TMP'] ?? '/tmp', 'gv-bench-'))
  return mkdtempSync(join(root, `${prefix}-`))
}
export function tempRoot(): string {
  if (!root) tempDir('init')
  return root
}

/**
 * Dials a teammate, a few times if need be: when both peers dial each other at the same moment (the
 * other one redialling a teammate it just learned about) one of the connections can be reset.
 */
async function dialWithRetry(w: Worker, addr: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await w.call('dial', { addr })
      return
    } catch (err) {
      if (attempt >= 4) throw err
      await sleep(250 * attempt)
    }
  }
}

/** Spawns n workers at once; if one fails, stops the others. */
export async function spawnAll(n: number, make: (i: number) => Promise<Worker>): Promise<Worker[]> {
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => make(i)))
  const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const bad = settled.find((s) => s.status === 'rejected')
  if (bad) {
    await stopAll(ok)
    throw (bad as PromiseRejectedResult).reason
  }
  return ok
}

const asCollab = (w: Worker, label = w.name): Collab => ({ label, call: (cmd, args, t) => w.call(cmd, args, t) })

/** Starts `n` Grapevine peers in a workspace with one shared document (text `initial`). */
export async function grapevinePeers(
  n: number,
  opts: { initial?: string; frameMs?: number; mesh?: boolean; doc?: boolean; lifetimeMs?: number } = {},
): Promise<{
  workers: Worker[]
  ids: { workspaceId: string; docId: string }
  infos: { id: string; addrs: string[] }[]
}> {
  const workers: Worker[] = []
  try {
    workers.push(
      ...(await spawnAll(n, (i) =>
        // Started as the app starts its peer (shared/peer-runtime.ts).
        spawnWorker('gv-peer.ts', `gv${i}`, {
          nodeArgs: [...PEER_NODE_FLAGS],
          ...(opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {}),
        }),
      )),
    )
    const infos = await Promise.all(
      workers.map((w, i) => w.call<{ id: string; addrs: string[] }>('start', { profileDir: tempDir(`gv${i}`), name: `peer${i}` })),
    )
    const owner = workers[0]!
    const workspaceId = await owner.call<string>('createWorkspace', { name: 'Bench' })
    for (const w of workers.slice(1)) {
      const code = await owner.call<string>('invite', { workspaceId })
      await w.call('join', { code }, 60_000)
    }
    if (opts.mesh !== false) {
      for (let i = 1; i < n; i++) for (let j = 1; j < i; j++) await dialWithRetry(workers[i]!, infos[j]!.addrs[0]!)
    }
    for (const w of workers) await w.call('waitMembers', { workspaceId, count: n }, 60_000)
    if (opts.doc === false) return { workers, ids: { workspaceId, docId: '' }, infos }
    const docId = await owner.call<string>('createDoc', { workspaceId, title: 'Bench', text: opts.initial ?? '' })
    await Promise.all(workers.map((w) => w.call('waitDoc', { workspaceId, docId }, 60_000)))
    return { workers, ids: { workspaceId, docId }, infos }
  } catch (err) {
    await stopAll(workers)
    throw err
  }
}

/**
 * `frameMs`: the writer's replica policy (see GvReplica.open), and the receivers' unless `receiverFrameMs`
 * says otherwise (Grapevine only).
 */
export async function deploy(system: SystemId, n: number, opts: { frameMs?: number; receiverFrameMs?: number } = {}): Promise<Deployment> {
  const workers: Worker[] = []
  const stop = (): Promise<void> => stopAll(workers)
  try {
    if (system === 'grapevine') {
      const g = await grapevinePeers(n, opts)
      workers.push(...g.workers)
      const frame = opts.frameMs !== undefined ? { frameMs: opts.frameMs } : {}
      const receivers = g.workers.slice(0, -1)
      const receiverFrame = opts.receiverFrameMs !== undefined ? { frameMs: opts.receiverFrameMs } : frame
      await Promise.all(receivers.map((w) => w.call('open', { docId: g.ids.docId, ...receiverFrame })))
      // The writer's editor runs in its own process, as the app's editor does (in its worker), over the peer's control socket.
      const profileDir = await g.workers.at(-1)!.call<string>('serveSocket')
      const editor = await spawnWorker('gv-client.ts', `gv${n - 1}-editor`)
      workers.push(editor)
      await editor.call('start', { profileDir })
      await editor.call('open', { docId: g.ids.docId, ...frame })
      return { system, writer: asCollab(editor), receivers: receivers.map((w) => asCollab(w)), workers, ids: g.ids, stop }
    }
    if (system === 'am-ws') {
      const server = await spawnWorker('am-server.ts', 'am-server')
      workers.push(server)
      const port = await server.call<number>('start', { storageDir: tempDir('am-server') })
      workers.push(...(await spawnAll(n, (i) => spawnWorker('am-client.ts', `am${i}`))))
      const clients = workers.slice(1)
      await Promise.all(clients.map((w, i) => w.call('start', { url: `ws://127.0.0.1:${port}`, storageDir: tempDir(`am${i}`) })))
      const url = await clients[0]!.call<string>('create', {})
      await sleep(200) // let the first sync reach the server before others ask for the document
      await Promise.all(clients.slice(1).map((w) => w.call('find', { url }, 60_000)))
      const cs = clients.map((w) => asCollab(w))
      return { system, writer: cs[0]!, receivers: cs.slice(1), workers, stop }
    }
    if (system === 'am-mc') {
      const w = await spawnWorker('am-mc.ts', 'am-mc')
      workers.push(w)
      await w.call('start', { n })
      const cs: Collab[] = Array.from({ length: n }, (_, i) => ({
        label: `am-mc${i}`,
        call: (cmd, args, t) => w.call(cmd, { ...args, peer: i }, t),
      }))
      return { system, writer: cs[0]!, receivers: cs.slice(1), workers, stop }
    }
    const server = await spawnWorker('y-server.ts', 'y-server')
    workers.push(server)
    const port = await server.call<number>('start')
    workers.push(...(await spawnAll(n, (i) => spawnWorker('y-client.ts', `y${i}`))))
    const clients = workers.slice(1)
    await Promise.all(clients.map((w) => w.call('start', { url: `ws://127.0.0.1:${port}`, room: 'bench' })))
    const cs = clients.map((w) => asCollab(w))
    return { system, writer: cs[0]!, receivers: cs.slice(1), workers, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
