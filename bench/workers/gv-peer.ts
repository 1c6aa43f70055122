/**
 * One Grapevine peer in its own process (a real `createPeer` on 127.0.0.1, mDNS off, profile in a
 * temp folder) with a client replica of one document, as the desktop app runs it.
 */
import { readFileSync, rmSync } from 'node:fs'
import { writeHeapSnapshot } from 'node:v8'
import { join } from 'node:path'
import { createPeer, DB_FILE, type Peer } from '../../main/peer/peer.ts'
import { du } from '../lib/du.ts'
import { loadTrace } from '../lib/trace.ts'
import { readHeads } from '../lib/gv-db.ts'
import { SqliteStore } from '../../main/peer/store/sqlite-store.ts'
import { Documents } from '../../main/peer/sync/documents.ts'
import { Gossip } from '../../main/peer/sync/gossip.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import type { Server } from 'node:net'
import { serveControlSocket } from '../../main/peer/api/socket-transport.ts'
import { startUiServer, type UiServer } from '../../main/peer/api/ui-server.ts'
import * as A from '@automerge/automerge'
import { silentLog } from '../../main/peer/log.ts'
import { GvReplica, sendTimesSince } from '../lib/gv-replica.ts'
import { serve, until } from '../lib/serve.ts'
import { textPeerHandlers } from '../lib/text-peer.ts'
import { now } from '../lib/stats.ts'

let peer: Peer | null = null
let client: (PeerClient & { close(): void }) | null = null
let replica: GvReplica | null = null
let profile = ''
let sendBase = 0
let openDoc = ''
let startConfig: Parameters<typeof createPeer>[0] | null = null
const probe: [string, number, number][] = []
let socket: Server | null = null
let ui: UiServer | null = null
let uiTraffic: { requests: Record<string, number>; events: Record<string, number> } = { requests: {}, events: {} }
/** W7: a replica of every watched document, and when each change (actor:seq) became visible in it. */
const watched = new Map<string, GvReplica>()
let seenAt = new Map<string, number>()

const c = (): PeerClient =>
  client ??
  (() => {
    throw new Error('peer not started')
  })()
const text = textPeerHandlers(
  () =>
    replica ??
    (() => {
      throw new Error('no replica open')
    })(),
)

serve(
  {
    ...text,
    watch() {
      sendBase = replica?.sends.at(-1)?.[0] ?? 0
      return text['watch']!(undefined)
    },
    async start({ profileDir, name, batchMs }: { profileDir: string; name: string; batchMs?: number }) {
      profile = profileDir
      startConfig = {
        profileDir,
        name,
        host: '127.0.0.1',
        port: 0,
        mdns: false,
        catchupIntervalMs: 60_000,
        ...(batchMs !== undefined ? { batchMs } : {}),
      }
      peer = await createPeer(startConfig)
      client = peer.connect()
      if (process.env['BENCH_PROBE']) {
        const proto = SqliteStore.prototype as unknown as { flush: () => void }
        const f = proto.flush
        proto.flush = function (this: unknown) {
          const t = now()
          f.call(this)
          probe.push(['commit', t, Math.round((now() - t) * 10)])
        }
        // Where a request and a teammate's live message enter the peer.
        const docs = Documents.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
        const req = docs['applyClientChanges']!
        docs['applyClientChanges'] = function (this: unknown, ...a: unknown[]) {
          probe.push(['req', now(), 0])
          return req.apply(this, a)
        }
        const gossip = Gossip.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
        const live = gossip['receiveLive']!
        gossip['receiveLive'] = function (this: unknown, ...a: unknown[]) {
          probe.push(['live', now(), (a[1] as Uint8Array).byteLength])
          return live.apply(this, a)
        }
        const ps = peer.node.services.pubsub
        const orig = ps.publish.bind(ps)
        ps.publish = (topic: string, data?: Uint8Array) => {
          probe.push(['pub', now(), data?.byteLength ?? 0])
          return orig(topic, data)
        }
        ps.addEventListener('gossipsub:message', (e) => probe.push(['in', now(), e.detail.msg.data.byteLength]))
        client.onEvent((e) => {
          if (e.type === 'doc.changes') probe.push(['ev', now(), e.changes.length])
        })
        // Where teammates' changes leave the peer for its clients (W1b's pages: not this process's client).
        const emit = docs['emit']!
        docs['emit'] = function (this: unknown, ...a: unknown[]) {
          if (a[0] === 'changes') probe.push(['out', now(), (a[2] as unknown[]).length])
          return emit.apply(this, a)
        }
      }
      return { id: peer.device.deviceId, addrs: peer.node.getMultiaddrs().map(String) }
    },
    async createWorkspace({ name }: { name: string }) {
      return (await c().request('workspace.create', { name })).id
    },
    async invite({ workspaceId }: { workspaceId: string }) {
      return (await c().request('workspace.invite', { workspaceId, approve: false })).code
    },
    async join({ code }: { code: string }) {
      return (await c().request('workspace.join', { code })).id
    },
    async dial({ addr }: { addr: string }) {
      return c().request('peer.dial', { address: addr })
    },
    async createDoc({ workspaceId, title, text: body }: { workspaceId: string; title: string; text?: string }) {
      return (await c().request('doc.create', { workspaceId, title, text: body ?? '' })).id
    },
    async waitMembers({ workspaceId, count }: { workspaceId: string; count: number }) {
      await until(`${count} members`, async () => (await c().request('workspace.members', { workspaceId })).length >= count, 60_000, 20)
    },
    async waitDoc({ workspaceId, docId, timeoutMs }: { workspaceId: string; docId: string; timeoutMs?: number }) {
      await until(
        `document ${docId}`,
        async () => (await c().request('doc.list', { workspaceId })).some((d) => d.id === docId),
        timeoutMs ?? 30_000,
        20,
      )
    },
    async open({ docId, frameMs }: { docId: string; frameMs?: number }) {
      openDoc = docId
      replica = await GvReplica.open(c(), docId, frameMs)
      return replica.length()
    },
    /** When each keystroke typed since `watch` left in a request (frame batching splits latency). */
    sendTimes({ keys }: { keys: number }) {
      return sendTimesSince(replica!, sendBase, keys)
    },
    /** Serves the client protocol on the profile's control socket, for a client in another process. */
    async serveSocket() {
      socket = await serveControlSocket(peer!, profile, silentLog)
      return profile
    },
    /** Creates `count` documents (`inFlight` requests at a time, so group commits are shared). */
    async createDocs({
      workspaceId,
      count,
      inFlight,
      text: body,
    }: {
      workspaceId: string
      count: number
      inFlight?: number
      text?: string
    }) {
      const ids: string[] = []
      let next = 0
      await Promise.all(
        Array.from({ length: inFlight ?? 16 }, async () => {
          while (next < count) {
            next++
            ids.push((await c().request('doc.create', { workspaceId, title: `doc ${ids.length}`, text: body ?? '' })).id)
          }
        }),
      )
      return ids
    },
    /** Types the first `keysPerDoc` keystrokes of the trace into each document: one change per keystroke, sent in batches. */
    /** `oneByOne`: each keystroke is sent and acknowledged before the next, as typing at a person's pace leaves. */
    async typeKeys({ ids, keysPerDoc, from, oneByOne }: { ids: string[]; keysPerDoc: number; from?: number; oneByOne?: boolean }) {
      const keys = loadTrace().keys.slice(from ?? 0, (from ?? 0) + keysPerDoc)
      for (const id of ids) {
        const r = await GvReplica.open(c(), id, 0)
        for (let k = 0; k < keys.length; k++) {
          const [pos, del, ins] = keys[k]!
          r.splice(pos, del, ins)
          // W2 and W5 count one change per keystroke, as their anchors make them: keys typed in one turn
          // would otherwise share a change (as a burst does in the editor).
          r.commitNow()
          if (oneByOne || r.unsent() >= 2048) await r.drain()
        }
        await r.drain()
        r.close()
        await c().request('doc.close', { docId: id })
      }
      return null
    },
    /** Each document's heads, from the listing rows of this peer's database (read-only, without loading documents). */
    heads() {
      return readHeads(peer?.dbPath ?? join(profile, DB_FILE))
    },
    /** Heads of the documents as loaded (slow: loads each one). */
    async loadedHeads({ ids }: { ids: string[] }) {
      const out: Record<string, string> = {}
      for (const id of ids) out[id] = [...(await c().request('doc.read', { docId: id })).heads].sort().join(',')
      return out
    },
    /** Stops the peer and keeps its profile: the device goes offline. */
    async goOffline() {
      replica?.close()
      client?.close()
      await peer!.stop()
      peer = null
      client = null
      return null
    },
    /**
     * Starts the peer again and waits until every document in `expected` has the expected heads.
     * Catch-up statistics are this run's (the peer starts from zero).
     */
    async comeBack({ expected, timeoutMs, initiate }: { expected: Record<string, string>; timeoutMs: number; initiate?: boolean }) {
      const t0 = now()
      peer = await createPeer(startConfig!)
      client = peer.connect()
      const started = now()
      if (initiate) {
        // This peer starts the catch-up session itself (as it does on connect whenever its id sorts first).
        const p = peer
        void until('a connection', () => p.node.getConnections().length > 0, 10_000, 2)
          .then(() => p.syncNow())
          .catch(() => {})
      }
      const want = Object.entries(expected)
      try {
        await until(
          'documents caught up',
          () => {
            const h = readHeads(peer!.dbPath)
            return want.every(([id, k]) => h[id] === k)
          },
          timeoutMs,
          10,
        )
      } catch (err) {
        const h = readHeads(peer!.dbPath)
        const behind = want.filter(([id, k]) => h[id] !== k).map(([id]) => id)
        const first = behind[0]!
        const read = await client.request('doc.read', { docId: first }).catch((e: Error) => ({ heads: [e.message], text: '' }))
        throw new Error(
          `${(err as Error).message}: ${behind.length} of ${want.length} documents differ (${behind.slice(0, 3).join(', ')}…); ` +
            `first: listing heads ${h[first]}, loaded heads ${[...read.heads].sort().join(',')}, expected ${expected[first]}; catch-up stats ${JSON.stringify(peer!.stats().catchup)}`,
        )
      }
      const t1 = now()
      return { startMs: started - t0, convergeMs: t1 - started, totalMs: t1 - t0 }
    },
    /**
     * Stops the peer (a clean stop: loaded documents are snapshotted), measures the profile on disk,
     * starts it again and reopens the document: the time until its text is available.
     */
    async reopen() {
      replica?.close()
      client?.close()
      socket?.close()
      await peer!.stop()
      const dbBytes = du(join(profile, DB_FILE)) + du(join(profile, `${DB_FILE}-wal`))
      const t0 = now()
      peer = await createPeer(startConfig!)
      client = peer.connect()
      const t1 = now()
      replica = await GvReplica.open(client, openDoc)
      const t2 = now()
      return { dbBytes, startMs: t1 - t0, openMs: t2 - t1, length: replica.length() }
    },
    /** Browser mode: serves the renderer built in `dir` and the client protocol on 127.0.0.1 (as `run --ui`); the page's URL. */
    async serveUi({ dir }: { dir: string }) {
      // Counts what the pages ask and are told (`uiTraffic`), to see what one keystroke costs in the UI.
      const source = {
        connect: () => {
          const inner = peer!.connect()
          const counted: PeerClient & { close(): void } = {
            request: (method, params) => {
              uiTraffic.requests[method] = (uiTraffic.requests[method] ?? 0) + 1
              return inner.request(method, params)
            },
            onEvent: (l) =>
              inner.onEvent((e) => {
                uiTraffic.events[e.type] = (uiTraffic.events[e.type] ?? 0) + 1
                l(e)
              }),
            close: () => inner.close(),
          }
          return counted
        },
      }
      ui = await startUiServer(source, silentLog, { port: 0, dir })
      return ui.url
    },
    /** Requests (by method) and events (by type) between this peer and its pages since the last call. */
    takeUiTraffic() {
      const out = uiTraffic
      uiTraffic = { requests: {}, events: {} }
      return out
    },
    /**
     * Opens a replica of each document (as a client would) and records, for every change applied to
     * one, when it became visible there: `actor:seq` → time (the first time only).
     */
    async watchDocs({ ids }: { ids: string[] }) {
      for (const id of ids) {
        if (watched.has(id)) continue
        const r = await GvReplica.open(c(), id, 0)
        watched.set(id, r)
      }
      // After the replicas' own listeners (registered first), so a change is counted once applied.
      c().onEvent((e) => {
        if (e.type !== 'doc.changes' || !watched.has(e.docId)) return
        const t = now()
        for (const ch of e.changes) {
          const d = A.decodeChange(ch)
          const k = `${d.actor}:${d.seq}`
          if (!seenAt.has(k)) seenAt.set(k, t)
        }
      })
      return ids.length
    },
    /** The visibility times recorded since the last call (and forgets them). */
    takeSeen() {
      const out = [...seenAt]
      seenAt = new Map()
      return out
    },
    /** The text of each watched document. */
    watchedTexts() {
      return Object.fromEntries([...watched].map(([id, r]) => [id, r.text()]))
    },
    probe() {
      return probe
    },
    /** Where this process's memory is: V8's heap, array buffers and external memory (Automerge's WebAssembly memory is in none of them: RSS only). */
    memory() {
      // RssAnon (malloc, V8, WebAssembly) and RssFile (mapped files: code, the SQLite WAL index) from /proc.
      const status = readFileSync('/proc/self/status', 'utf8')
      const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
      return { ...process.memoryUsage(), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') }
    },
    /** Writes a V8 heap snapshot to `path` (to compare two, e.g. what a long day keeps). */
    heapSnapshot({ path }: { path: string }) {
      return writeHeapSnapshot(path)
    },
    stats() {
      return peer!.stats()
    },
    connections() {
      return peer!.node.getConnections().length
    },
    clock() {
      return now()
    },
  },
  async () => {
    replica?.close()
    for (const r of watched.values()) r.close()
    client?.close()
    socket?.close()
    await ui?.close()
    await peer?.stop()
    if (profile && process.env['BENCH_KEEP'] !== '1') rmSync(profile, { recursive: true, force: true })
  },
)
