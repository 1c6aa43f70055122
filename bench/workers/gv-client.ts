/**
 * A Grapevine client in its own process, as the desktop app's renderer is: it reaches its peer
 * (another process) over the peer's control socket with the client protocol, and keeps a replica.
 * Typing here is not held up by the peer's work, as in the app.
 */
import * as A from '@automerge/automerge'
import { connectControlSocket } from '../../main/peer/api/socket-transport.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import { GvReplica, sendTimesSince } from '../lib/gv-replica.ts'
import { serve, sleep } from '../lib/serve.ts'
import { now } from '../lib/stats.ts'
import { textPeerHandlers } from '../lib/text-peer.ts'

let client: (PeerClient & { close(): void }) | null = null
let replica: GvReplica | null = null
let sendBase = 0
const text = textPeerHandlers(
  () =>
    replica ??
    (() => {
      throw new Error('no replica open')
    })(),
)

/** A small seeded PRNG (mulberry32): the same seed types the same day. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

serve(
  {
    ...text,
    watch() {
      sendBase = replica?.sends.at(-1)?.[0] ?? 0
      return text['watch']!(undefined)
    },
    async start({ profileDir }: { profileDir: string }) {
      client = await connectControlSocket(profileDir)
      return null
    },
    async open({ docId, frameMs }: { docId: string; frameMs?: number }) {
      replica = await GvReplica.open(client!, docId, frameMs)
      return replica.length()
    },
    sendTimes({ keys }: { keys: number }) {
      return sendTimesSince(replica!, sendBase, keys)
    },
    /**
     * W7: a person typing for `durationMs` into random documents of `ids`: runs of 10–60 keys at a
     * human rate (80–320 ms apart, about 5 keys/s; one in ten a backspace) at a random place, then a
     * pause of 0.5–4 s; after a pause, three times in ten, another document (closed, the next opened,
     * as the app does on switching). Returns every keystroke: [document index, actor:seq, time].
     */
    async typeDay({ ids, durationMs, seed }: { ids: string[]; durationMs: number; seed: number }) {
      const rand = mulberry32(seed)
      const pick = (lo: number, hi: number): number => lo + rand() * (hi - lo)
      const keys: [number, string, number][] = []
      const end = now() + durationMs
      let doc = Math.floor(rand() * ids.length)
      let r = await GvReplica.open(client!, ids[doc]!)
      while (now() < end) {
        let pos = Math.floor(rand() * (r.length() + 1))
        const run = Math.floor(pick(10, 60))
        let next = now()
        for (let i = 0; i < run && now() < end; i++) {
          next += pick(80, 320)
          await sleep(Math.max(0, next - now()))
          const t = now()
          pos = Math.min(pos, r.length()) // a teammate may have deleted text here meanwhile
          if (rand() < 0.1 && pos > 0) r.splice(--pos, 1, '')
          else r.splice(pos++, 0, String.fromCharCode(97 + Math.floor(rand() * 26)))
          r.commitNow()
          const d = A.decodeChange(A.getLastLocalChange(r.doc)!)
          keys.push([doc, `${d.actor}:${d.seq}`, t])
        }
        if (r.error) throw r.error
        await sleep(Math.min(pick(500, 4000), Math.max(0, end - now())))
        if (rand() < 0.3 && now() < end) {
          await r.drain()
          r.close()
          await client!.request('doc.close', { docId: ids[doc]! })
          doc = Math.floor(rand() * ids.length)
          r = await GvReplica.open(client!, ids[doc]!)
        }
      }
      await r.drain()
      r.close()
      return keys
    },
  },
  () => {
    replica?.close()
    client?.close()
  },
)
