/**
 * History (`doc.history`, `doc.version`, `doc.restore`; sync/history-index.ts): each document's timeline of
 * editing sessions from its own changes, any version read with what changed since marked, and a restore that
 * every teammate receives as a new change. Real peers on 127.0.0.1, SQLite in temp folders.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import Database from 'better-sqlite3'
import type { DocContent } from '../../../shared/doc-content.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { HistorySession } from '../../../shared/types.ts'
import { join } from 'node:path'
import { DB_FILE, type Peer } from '../peer.ts'
import { SESSION_GAP_MS } from '../sync/history-index.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'

const dirs: ReturnType<typeof tempDir>[] = []
const running = new Set<Peer>()
after(async () => {
  await Promise.allSettled([...running].map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

async function start(dir: string, name: string, extra: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
  const p = await startPeer(dir, { name, ...extra })
  running.add(p)
  return p
}
async function stop(p: Peer): Promise<void> {
  running.delete(p)
  await p.stop()
}

/** Types `words` at the end of the text as a client would, one change each, made at `at` (ms) by the author's clock. */
async function typeAt(c: PeerClient, docId: string, at: number, words: string[]): Promise<void> {
  const opened = await c.request('doc.open', { docId })
  let doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
  for (const [i, w] of words.entries()) {
    doc = A.change(doc, { time: Math.floor(at / 1000) + i }, (d) => A.splice(d, ['text'], d.text.length, 0, w))
    await c.request('doc.applyChanges', { docId, changes: [A.getLastLocalChange(doc)!] })
  }
  await c.request('doc.close', { docId })
}

const code = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? 'no code',
  )

const shape = (s: HistorySession[]): string[] => s.map((x) => `${x.authorName} +${x.inserted} -${x.deleted}${x.retitled ? ' title' : ''}`)

test('a timeline of sessions by author and time; any version read and marked against now; a restore everyone receives', async () => {
  const [aDir, bDir] = [tempDir(), tempDir()]
  dirs.push(aDir, bDir)
  const a = await start(aDir.path, 'ana')
  const b = await start(bDir.path, 'ben')
  const ws = await formWorkspace(a, [b])
  const ana = a.connect()
  const ben = b.connect()
  const docId = (await ana.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'Plan:' })).id
  await waitFor('the document at Ben', async () => (await ben.request('doc.list', { workspaceId: ws })).some((d) => d.id === docId))

  // Ana writes two words a minute apart (one session), Ben adds one 5 minutes later, Ana comes back an hour later.
  const t0 = Date.now() - 3 * 60 * 60_000
  await typeAt(ana, docId, t0, [' one', ' two'])
  await waitFor('Ana’s words at Ben', async () => (await ben.request('doc.read', { docId })).text === 'Plan: one two')
  await typeAt(ben, docId, t0 + 5 * 60_000, [' three'])
  await waitFor('Ben’s word at Ana', async () => (await ana.request('doc.read', { docId })).text === 'Plan: one two three')
  await typeAt(ana, docId, t0 + SESSION_GAP_MS + 60 * 60_000, [' four'])
  await ana.request('doc.rename', { docId, title: 'The plan' })
  await waitFor('all of it at Ben', async () => (await ben.request('doc.read', { docId })).text === 'Plan: one two three four')

  // Ben's time zone reaches Ana with his presence.
  await ben.request('presence.set', { workspaceId: ws, docId, cursor: null })
  await waitFor('Ben’s presence at Ana', async () => (await ana.request('presence.list', { workspaceId: ws })).length > 0)
  const h = await ana.request('doc.history', { docId })
  const byTime = [...h.sessions].sort((x, y) => x.endedAt - y.endedAt)
  assert.deepEqual(
    h.sessions.map((s) => s.endedAt),
    byTime.map((s) => s.endedAt).reverse(),
    'the latest first',
  )
  const old = h.sessions.filter((s) => s.endedAt < Date.now() - 60 * 60_000)
  assert.deepEqual(shape(old), ['ana +5 -0', 'ben +6 -0', 'ana +8 -0'], 'the three sessions of the past, latest first')
  assert.equal(old[0]!.startedAt, old[0]!.endedAt)
  assert.equal(old[2]!.endedAt - old[2]!.startedAt, 1000, 'the two words a second apart by their clock, one session')
  assert.ok(old.every((s) => !s.retitled))
  assert.deepEqual(shape(h.sessions.slice(0, 1)), ['ana +5 -0 title'], 'the creation and the rename, both now: one session')
  assert.ok(old[1]!.authorId !== '' && !old[1]!.own && old[0]!.own)
  assert.equal(h.more, false)
  assert.equal(typeof old[0]!.authorUtcOffsetMinutes, 'number', 'own sessions carry this device’s time zone')

  // Ben counts the same changes: the same versions, whoever made them.
  const hb = await ben.request('doc.history', { docId })
  assert.deepEqual(new Set(hb.sessions.map((s) => s.version)), new Set(h.sessions.map((s) => s.version)), 'the same versions at Ben')
  const benAtAna = old[1]!
  assert.equal(benAtAna.authorUtcOffsetMinutes, -new Date().getTimezoneOffset() || 0, 'Ben’s time zone, from his presence')

  // Paging: one at a time, each page older than the one before.
  const p1 = await ana.request('doc.history', { docId, limit: 1 })
  assert.equal(p1.sessions.length, 1)
  assert.equal(p1.more, true)
  const p2 = await ana.request('doc.history', { docId, limit: 1, before: p1.sessions[0]!.endedAt })
  assert.ok(p2.sessions[0]!.endedAt < p1.sessions[0]!.endedAt)

  // The version at the end of Ben's session, by a prefix of its hash, marked against now.
  const v = await ana.request('doc.version', { docId, version: benAtAna.version.slice(0, 10) })
  assert.equal(v.version, benAtAna.version)
  assert.equal(v.text, 'Plan: one two three')
  assert.equal(v.title, 'Plan')
  assert.equal(v.titleNow, 'The plan')
  assert.deepEqual(v.removed, [])
  assert.deepEqual(v.added, [{ at: 19, text: ' four' }])
  assert.equal(v.session?.authorName, 'ben')

  // Restore Ana's first session: the text and title as they were, a new change that Ben receives.
  const first = old[2]!
  await ana.request('doc.restore', { docId, version: first.version })
  const restored = await ana.request('doc.read', { docId })
  assert.equal(restored.text, 'Plan: one two')
  await waitFor('the restore at Ben', async () => {
    const r = await ben.request('doc.read', { docId })
    return r.text === 'Plan: one two' && (await ben.request('doc.list', { workspaceId: ws })).find((d) => d.id === docId)?.title === 'Plan'
  })
  const after = await waitFor('the restore in Ben’s timeline', async () => {
    const s = (await ben.request('doc.history', { docId })).sessions
    return s.find((x) => x.own === false && x.deleted === 11 && x.retitled) ?? null
  })
  assert.equal(after.authorName, 'ana', 'the restore is Ana’s session: she deleted " three four" and set the title back')
  const marked = await ben.request('doc.version', { docId, version: benAtAna.version })
  assert.deepEqual(marked.removed, [[13, 19]], '" three" is gone now')
  assert.deepEqual(marked.added, [])

  // Bad input: a version nobody has, too short, not hex; a document that does not exist; a viewer restoring.
  assert.equal(await code(ana.request('doc.version', { docId, version: 'ffffff' })), 'not-found')
  assert.equal(await code(ana.request('doc.version', { docId, version: 'abc' })), 'bad-request')
  assert.equal(await code(ana.request('doc.restore', { docId, version: 'xyz123' })), 'bad-request')
  assert.equal(await code(ana.request('doc.history', { docId: 'ab'.repeat(16) })), 'not-found')
  const bId = (await ben.request('identity.get', {})).deviceId
  await ana.request('member.setRole', { workspaceId: ws, deviceId: bId, role: 'viewer' })
  await waitFor('Ben a viewer', async () => (await ben.request('workspace.list', {})).find((w) => w.id === ws)?.role === 'viewer')
  assert.equal(await code(ben.request('doc.restore', { docId, version: first.version })), 'forbidden')
  assert.equal((await ben.request('doc.version', { docId, version: first.version })).text, 'Plan: one two', 'a viewer reads versions')
})

test('typed with no connection: counted once though the changes became a run; counted again from nothing the same', async () => {
  const dir = tempDir()
  dirs.push(dir)
  let a = await start(dir.path, 'ana', { runSealIdleMs: 50 })
  const c = a.connect()
  const ws = (await c.request('workspace.create', { name: 'Solo' })).id
  const docId = (await c.request('doc.create', { workspaceId: ws, title: 'Notes', text: '' })).id
  const keys = Array.from({ length: 40 }, (_, i) => String.fromCharCode(97 + (i % 26)))
  await typeAt(c, docId, Date.now() - 2 * 60 * 60_000, keys)
  await waitFor('the keystrokes sealed as a run', () => a.stats().runs.sealed > 0)
  const h = await c.request('doc.history', { docId })
  const typed = h.sessions.filter((s) => s.inserted === 40)
  assert.equal(typed.length, 1, `one session of the 40 keystrokes: ${JSON.stringify(shape(h.sessions))}`)
  assert.equal(typed[0]!.changes, 40)
  await stop(a)

  // As a profile from before history was kept: nothing counted; at its next start it is counted whole, the same.
  const db = new Database(join(dir.path, DB_FILE))
  db.exec("DELETE FROM history_sessions; DELETE FROM history_progress; DELETE FROM meta WHERE key = 'history_counted'")
  db.close()
  a = await start(dir.path, 'ana')
  const again = await a.connect().request('doc.history', { docId })
  assert.deepEqual(
    again.sessions.map((s) => [s.version, s.inserted, s.changes]),
    h.sessions.map((s) => [s.version, s.inserted, s.changes]),
  )
})

test('edits made just before a stop are counted by the stop: the profile holds their session before anything reads it', async () => {
  const dir = tempDir()
  dirs.push(dir)
  const a = await start(dir.path, 'ana')
  const c = a.connect()
  const ws = (await c.request('workspace.create', { name: 'Solo' })).id
  const docId = (await c.request('doc.create', { workspaceId: ws, title: 'Notes', text: '' })).id
  await typeAt(c, docId, Date.now(), ['one ', 'two ', 'three'])
  // No pause of a second came: the count is still waiting.
  await stop(a)
  const db = new Database(join(dir.path, DB_FILE), { readonly: true })
  try {
    const rows = db.prepare('SELECT inserted, changes FROM history_sessions WHERE doc_id = ? ORDER BY started_at').all(docId) as {
      inserted: number
      changes: number
    }[]
    assert.deepEqual(rows.at(-1), { inserted: 13, changes: 4 }, JSON.stringify(rows))
  } finally {
    db.close()
  }
})
