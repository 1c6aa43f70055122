/**
 * W8 worker: the editing trace typed as a year of sessions (one change per `keysPerChange` keystrokes,
 * made at a simulated clock: a few seconds apart within a session, hours between sessions), then a
 * document's history read the way each system allows.
 * - Grapevine: `doc.history` (the timeline of sessions with +/− characters, from the peer's index) and
 *   `doc.version` (a version's text with what changed since marked); and the first count of a profile
 *   whose history was never counted (a profile from before history was kept, or after a rebuild).
 * - automerge-repo: what an app on it would do for the same screens: the change metadata (authors and
 *   times) grouped into sessions, decoding every change for +/− characters; `handle.view(heads)` and
 *   `handle.diff` for a version and what changed since.
 */
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { encodeHeads, Repo } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import Database from 'better-sqlite3'
import { MAX_CHANGES_PER_MESSAGE } from '../../shared/limits.ts'
import type { DocContent } from '../../shared/doc-content.ts'
import { createPeer, DB_FILE } from '../../main/peer/peer.ts'
import { SESSION_GAP_MS } from '../../main/peer/sync/history-index.ts'
import { loadTrace } from '../lib/trace.ts'
import { serve } from '../lib/serve.ts'
import { median, now } from '../lib/stats.ts'

export interface HistoryArgs {
  dir: string
  keys: number
  keysPerChange: number
  keysPerSession: number
  /** Versions read, spread over the timeline, each `reps` times. */
  versions: number
  reps: number
}

export interface HistoryResult {
  changes: number
  sessions: number
  length: number
  /** ms, median of `reps` */
  timelineMs: number
  /** ms per version read (median of its reps), oldest first */
  versionMs: number[]
  /** Grapevine only: what a start and its first timeline take longer on a profile never counted (every change counted). */
  firstCountMs?: number
  /** The version texts' lengths, to check both systems read the same versions. */
  versionLengths: number[]
}

/** The trace's keystrokes in changes, each with its simulated time (s): `keysPerSession` keystrokes a session, 14 h apart. */
function plan(a: HistoryArgs): { keys: [number, number, string][]; time: number }[] {
  const keys = loadTrace().keys.slice(0, a.keys)
  const out: { keys: [number, number, string][]; time: number }[] = []
  const sessions = Math.ceil(keys.length / a.keysPerSession)
  const changes = Math.ceil(keys.length / a.keysPerChange)
  // All of it in the past: a change stamped later than it arrived counts as made when it arrived.
  let t = Math.floor(Date.now() / 1000) - sessions * 14 * 3600 - changes * Math.round(a.keysPerChange / 3) - 3600
  for (let i = 0; i < keys.length; i += a.keysPerChange) {
    const session = Math.floor(i / a.keysPerSession)
    if (i > 0 && session !== Math.floor((i - a.keysPerChange) / a.keysPerSession)) t += 14 * 3600
    else t += Math.round(a.keysPerChange / 3) // about three keystrokes a second
    out.push({ keys: keys.slice(i, i + a.keysPerChange), time: t })
  }
  if (SESSION_GAP_MS > 14 * 3600 * 1000) throw new Error('sessions would not be told apart')
  return out
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = now()
  const r = fn()
  return [r, now() - t0]
}
async function timedAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = now()
  const r = await fn()
  return [r, now() - t0]
}

/** Indexes spread over `n` items: the oldest, the newest and between. */
const spread = (n: number, k: number): number[] =>
  Array.from({ length: Math.min(k, n) }, (_, i) => Math.round((i * (n - 1)) / Math.max(1, k - 1)))

serve({
  async grapevine(a: HistoryArgs): Promise<HistoryResult> {
    const config = { profileDir: a.dir, name: 'w8', host: '127.0.0.1', port: 0, mdns: false }
    let peer = await createPeer(config)
    let c = peer.connect()
    // (peer and c are started again below, for the start-up measurements.)
    const ws = await c.request('workspace.create', { name: 'W8' })
    const docId = (await c.request('doc.create', { workspaceId: ws.id, title: 'The paper', text: '' })).id
    const opened = await c.request('doc.open', { docId })
    let doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
    const changes = plan(a)
    let batch: Uint8Array[] = []
    for (const ch of changes) {
      doc = A.change(doc, { time: ch.time }, (d) => {
        for (const [pos, del, ins] of ch.keys) A.splice(d, ['text'], pos, del, ins)
      })
      batch.push(A.getLastLocalChange(doc)!)
      if (batch.length === MAX_CHANGES_PER_MESSAGE) {
        await c.request('doc.applyChanges', { docId, changes: batch })
        batch = []
      }
    }
    if (batch.length) await c.request('doc.applyChanges', { docId, changes: batch })
    await c.request('doc.close', { docId })
    // Counted as it was typed (a second after each pause); the first read waits for what is left.
    await c.request('doc.history', { docId })
    const timeline: number[] = []
    let sessions = 0
    for (let r = 0; r < a.reps; r++) {
      const [h, ms] = await timedAsync(() => c.request('doc.history', { docId }))
      timeline.push(ms)
      sessions = h.sessions.length
    }
    // The versions, oldest first: the timeline is the latest first (200 at most: page for older ones).
    const all: string[] = []
    let before: number | undefined
    for (;;) {
      const page = await c.request('doc.history', { docId, before, limit: 200 })
      all.push(...page.sessions.map((s) => s.version))
      if (!page.more) break
      before = page.sessions.at(-1)!.endedAt
    }
    all.reverse()
    const versionMs: number[] = []
    const versionLengths: number[] = []
    for (const i of spread(all.length, a.versions)) {
      const ms: number[] = []
      for (let r = 0; r < a.reps; r++) {
        const [v, t] = await timedAsync(() => c.request('doc.version', { docId, version: all[i]! }))
        ms.push(t)
        if (r === 0) versionLengths.push(v.text.length)
      }
      versionMs.push(median(ms))
    }
    const length = (await c.request('doc.read', { docId })).text.length
    c.close()
    await peer.stop()
    // A start and the first timeline, counted (as every start after the first), then as a profile never counted
    // (from before history was kept), whose whole history is counted at that start: the difference is the count.
    const startAndTimeline = async (): Promise<[number, number]> => {
      const t0 = now()
      peer = await createPeer(config)
      c = peer.connect()
      const h = await c.request('doc.history', { docId })
      const ms = now() - t0
      c.close()
      await peer.stop()
      return [h.sessions.length, ms]
    }
    const [, countedMs] = await startAndTimeline()
    const db = new Database(join(a.dir, DB_FILE))
    db.exec("DELETE FROM history_sessions; DELETE FROM history_progress; DELETE FROM meta WHERE key = 'history_counted'")
    db.close()
    const [again, uncountedMs] = await startAndTimeline()
    if (again !== sessions) throw new Error(`counted again: ${again} sessions, not ${sessions}`)
    const firstCountMs = uncountedMs - countedMs
    return {
      changes: changes.length + 1,
      sessions: all.length,
      length,
      timelineMs: median(timeline),
      versionMs,
      firstCountMs,
      versionLengths,
    }
  },

  async automergeRepo(a: HistoryArgs): Promise<HistoryResult> {
    const repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(a.dir) })
    const handle = repo.create<DocContent>({ title: 'The paper', text: '' })
    const changes = plan(a)
    for (const ch of changes)
      handle.change(
        (d) => {
          for (const [pos, del, ins] of ch.keys) A.splice(d, ['text'], pos, del, ins)
        },
        { time: ch.time },
      )
    await repo.flush()
    /** The same screen: sessions by author and time gap, with +/− characters (every change decoded). */
    const timelineOf = (): { end: string }[] => {
      const doc = handle.doc()!
      const textObj = A.getObjectId(doc, 'text')
      const out: { actor: string; start: number; end: number; ins: number; del: number; version: string }[] = []
      for (const bytes of A.getAllChanges(doc)) {
        const d = A.decodeChange(bytes)
        let ins = 0
        let del = 0
        for (const op of d.ops as unknown as { action: string; obj: string; insert?: boolean; multiOp?: number }[]) {
          if (op.obj !== textObj) continue
          if (op.action === 'del') del += op.multiOp ?? 1
          else if (op.insert) ins++
        }
        const at = d.time * 1000
        // As Grapevine groups them: the author's session this change is within the gap of, on either side.
        const s = out.findLast((x) => x.actor === d.actor && at <= x.end + SESSION_GAP_MS && at >= x.start - SESSION_GAP_MS)
        if (s)
          Object.assign(s, { start: Math.min(s.start, at), end: Math.max(s.end, at), ins: s.ins + ins, del: s.del + del, version: d.hash })
        else out.push({ actor: d.actor, start: at, end: at, ins, del, version: d.hash })
      }
      // Oldest first, as the versions are read.
      return out.sort((x, y) => x.end - y.end).map((s) => ({ end: s.version }))
    }
    const timeline: number[] = []
    let sessions: { end: string }[] = []
    for (let r = 0; r < a.reps; r++) {
      const [s, ms] = timed(timelineOf)
      timeline.push(ms)
      sessions = s
    }
    const versionMs: number[] = []
    const versionLengths: number[] = []
    const heads = handle.heads()
    for (const i of spread(sessions.length, a.versions)) {
      const ms: number[] = []
      for (let r = 0; r < a.reps; r++) {
        const [text, t] = timed(() => {
          const then = encodeHeads([sessions[i]!.end])
          const text = handle.view(then).doc()!.text
          handle.diff(then, heads)
          return text
        })
        ms.push(t)
        if (r === 0) versionLengths.push(text.length)
      }
      versionMs.push(median(ms))
    }
    const length = handle.doc()!.text.length
    await repo.shutdown()
    return { changes: changes.length + 1, sessions: sessions.length, length, timelineMs: median(timeline), versionMs, versionLengths }
  },
})
