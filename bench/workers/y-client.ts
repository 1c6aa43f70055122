/** One Yjs client in its own process: a Y.Doc with y-websocket's WebsocketProvider on 127.0.0.1. */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { serve, until } from '../lib/serve.ts'
import { textPeerHandlers, type TextPeer } from '../lib/text-peer.ts'
import { now } from '../lib/stats.ts'
import { createHash } from 'node:crypto'
import { loadTrace } from '../lib/trace.ts'
import { resetWsCount, wsCount } from '../lib/ws-count.ts'

const doc = new Y.Doc()
const ytext = doc.getText('text')
let provider: WebsocketProvider | null = null
let synced = false
let serverUrl = ''
const rooms = new Map<string, { doc: Y.Doc; provider: WebsocketProvider }>()
const saved = new Map<string, Uint8Array>()
const textKey = (d: Y.Doc): string => createHash('sha256').update(d.getText('text').toString()).digest('hex')

async function connectRoom(name: string, d: Y.Doc): Promise<void> {
  const provider = new WebsocketProvider(serverUrl, name, d, { WebSocketPolyfill: WebSocket as never, disableBc: true })
  rooms.set(name, { doc: d, provider })
  await new Promise<void>((resolve) => {
    if (provider.synced) return resolve()
    provider.once('sync', () => resolve())
  })
}

const peer: TextPeer = {
  splice(pos, del, text) {
    doc.transact(() => {
      if (del) ytext.delete(pos, del)
      if (text) ytext.insert(pos, text)
    })
  },
  frame(fn) {
    doc.transact(() =>
      fn((pos, del, text) => {
        if (del) ytext.delete(pos, del)
        if (text) ytext.insert(pos, text)
      }),
    )
  },
  length: () => ytext.length,
  text: () => ytext.toString(),
  onRemote(cb) {
    ytext.observe((_e, tr) => {
      if (!tr.local) cb()
    })
  },
}

serve(
  {
    ...textPeerHandlers(() => peer),
    async start({ url, room }: { url: string; room?: string }) {
      serverUrl = url
      if (room === undefined) return 0
      provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true })
      provider.on('sync', (s: boolean) => {
        if (s) synced = true
      })
      await until('y-websocket sync', () => synced, 30_000)
      return ytext.length
    },
    /** y-websocket keeps no storage: the document's encoded state, and the time to load it into a new Y.Doc. */
    reopen() {
      const update = Y.encodeStateAsUpdate(doc)
      const t0 = now()
      const d2 = new Y.Doc()
      Y.applyUpdate(d2, update)
      const length = d2.getText('text').toString().length
      return { dbBytes: update.byteLength, startMs: 0, openMs: now() - t0, length }
    },
    /** Joins each room (one Y.Doc and one WebsocketProvider per document, as y-websocket works). */
    async openRooms({ names }: { names: string[] }) {
      await Promise.all(names.map((n) => connectRoom(n, new Y.Doc())))
      return null
    },
    /** The first `keysPerDoc` keystrokes of the trace into each room, one transaction per keystroke. */
    async typeKeys({ names, keysPerDoc, from }: { names: string[]; keysPerDoc: number; from?: number }) {
      const keys = loadTrace().keys.slice(from ?? 0, (from ?? 0) + keysPerDoc)
      for (const n of names) {
        const t = rooms.get(n)!.doc.getText('text')
        for (const [pos, del, ins] of keys) {
          t.doc!.transact(() => {
            if (del) t.delete(pos, del)
            if (ins) t.insert(pos, ins)
          })
        }
        await new Promise<void>((r) => setImmediate(r))
      }
      return null
    },
    heads({ names }: { names: string[] }) {
      return Object.fromEntries(names.map((n) => [n, textKey(rooms.get(n)!.doc)]))
    },
    /** Keeps each document's state (as y-indexeddb would on disk) and disconnects. */
    goOffline() {
      for (const [n, r] of rooms) {
        saved.set(n, Y.encodeStateAsUpdate(r.doc))
        r.provider.destroy()
        r.doc.destroy()
      }
      rooms.clear()
      return null
    },
    /** Loads each kept state into a new Y.Doc, reconnects, and waits until every text is the expected one. */
    async comeBack({ expected, timeoutMs }: { expected: Record<string, string>; timeoutMs: number }) {
      resetWsCount()
      const t0 = now()
      const names = Object.keys(expected)
      const docs = names.map((n) => {
        const d = new Y.Doc()
        Y.applyUpdate(d, saved.get(n)!)
        return d
      })
      const started = now()
      await Promise.all(names.map((n, i) => connectRoom(n, docs[i]!)))
      await until('rooms caught up', () => names.every((n) => textKey(rooms.get(n)!.doc) === expected[n]), timeoutMs, 10)
      const t1 = now()
      return { startMs: started - t0, convergeMs: t1 - started, totalMs: t1 - t0, net: { ...wsCount } }
    },
    netCount() {
      return { ...wsCount }
    },
  },
  () => {
    for (const r of rooms.values()) r.provider.destroy()
    provider?.destroy()
  },
)
