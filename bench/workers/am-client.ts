/**
 * One automerge-repo client in its own process: a Repo with NodeFS storage and the browser
 * WebSocket client adapter, connected to the sync server on 127.0.0.1.
 */
import { rmSync } from 'node:fs'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { BrowserWebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import * as A from '@automerge/automerge'
import { serve, until } from '../lib/serve.ts'
import { loadTrace } from '../lib/trace.ts'
import { resetWsCount, wsCount } from '../lib/ws-count.ts'
import { textPeerHandlers, type TextPeer } from '../lib/text-peer.ts'
import { amTextPeer, type AmDoc } from '../lib/am-text.ts'
import { du } from '../lib/du.ts'
import { now } from '../lib/stats.ts'

let repo: Repo | null = null
let handle: DocHandle<AmDoc> | null = null
let peer: TextPeer | null = null
let dir = ''
let serverUrl = ''
const handles = new Map<string, DocHandle<AmDoc>>()
const headsKey = (h: DocHandle<AmDoc>): string => [...A.getHeads(h.doc()!)].sort().join(',')

serve(
  {
    ...textPeerHandlers(
      () =>
        peer ??
        (() => {
          throw new Error('no document open')
        })(),
    ),
    start({ url, storageDir }: { url: string; storageDir: string }) {
      dir = storageDir
      serverUrl = url
      repo = new Repo({ network: [new BrowserWebSocketClientAdapter(url)], storage: new NodeFSStorageAdapter(storageDir) })
      return null
    },
    create({ text }: { text?: string }) {
      handle = repo!.create<AmDoc>({ text: text ?? '' })
      peer = amTextPeer(handle)
      return handle.url
    },
    async find({ url }: { url: string }) {
      handle = await repo!.find<AmDoc>(url as never)
      peer = amTextPeer(handle)
      return peer.length()
    },
    /** Flushes and shuts the Repo down, measures its storage, then opens it again (no network) until the text is there. */
    async reopen() {
      const url = handle!.url
      await repo!.flush()
      await repo!.shutdown()
      const dbBytes = du(dir)
      const t0 = now()
      repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(dir) })
      handle = await repo.find<AmDoc>(url)
      peer = amTextPeer(handle)
      const length = peer.length()
      return { dbBytes, startMs: 0, openMs: now() - t0, length }
    },
    /** Creates `count` documents with empty text. */
    createDocs({ count }: { count: number }) {
      const urls: string[] = []
      for (let i = 0; i < count; i++) {
        const h = repo!.create<AmDoc>({ text: '' })
        handles.set(h.url, h)
        urls.push(h.url)
      }
      return urls
    },
    /** Finds every document (waits until each is ready here). */
    async findDocs({ urls }: { urls: string[] }) {
      const found = await Promise.all(urls.map((u) => repo!.find<AmDoc>(u as never)))
      for (const [i, h] of found.entries()) handles.set(urls[i]!, h)
      return null
    },
    /** The first `keysPerDoc` keystrokes of the trace into each document, one `handle.change` per keystroke. */
    async typeKeys({ urls, keysPerDoc, from }: { urls: string[]; keysPerDoc: number; from?: number }) {
      const keys = loadTrace().keys.slice(from ?? 0, (from ?? 0) + keysPerDoc)
      for (const u of urls) {
        const h = handles.get(u)!
        for (const [pos, del, ins] of keys)
          h.change((d) => {
            A.splice(d, ['text'], pos, del, ins)
          })
        await new Promise<void>((r) => setImmediate(r))
      }
      await repo!.flush()
      return null
    },
    heads({ urls }: { urls: string[] }) {
      return Object.fromEntries(urls.map((u) => [u, headsKey(handles.get(u)!)]))
    },
    /** Saves everything and shuts the Repo down (its state stays in NodeFS storage). */
    async goOffline() {
      await repo!.flush()
      await repo!.shutdown()
      handles.clear()
      return null
    },
    /** A new Repo on the same storage, connected again; waits until every document has the expected heads. */
    async comeBack({ expected, timeoutMs }: { expected: Record<string, string>; timeoutMs: number }) {
      resetWsCount()
      const t0 = now()
      repo = new Repo({ network: [new BrowserWebSocketClientAdapter(serverUrl)], storage: new NodeFSStorageAdapter(dir) })
      const urls = Object.keys(expected)
      const found = await Promise.all(urls.map((u) => repo!.find<AmDoc>(u as never)))
      for (const [i, h] of found.entries()) handles.set(urls[i]!, h)
      const started = now()
      await until('documents caught up', () => urls.every((u) => headsKey(handles.get(u)!) === expected[u]), timeoutMs, 10)
      const t1 = now()
      return { startMs: started - t0, convergeMs: t1 - started, totalMs: t1 - t0, net: { ...wsCount } }
    },
    netCount() {
      return { ...wsCount }
    },
  },
  async () => {
    await repo?.shutdown().catch(() => {})
    if (dir) rmSync(dir, { recursive: true, force: true })
  },
)
