/**
 * Delivery receipts (`doc.syncStatus` receipts): for each teammate, which of this device's edits it is
 * known to hold, how many it lacks, and whether it is online; from what peers already tell each other of
 * their heads, with nothing sent for it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { DB_FILE, type Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor, stopAndRemoveAfter } from './helpers.ts'

const { dirs, running } = stopAndRemoveAfter()

test('receipts: who has which of my edits; a teammate that went away keeps the last it had, and says since when it is gone', async () => {
  const [aDir, bDir, cDir] = [tempDir(), tempDir(), tempDir()]
  dirs.push(aDir, bDir, cDir)
  const a = await startPeer(aDir.path, { name: 'ana' })
  const b = await startPeer(bDir.path, { name: 'ben' })
  const c = await startPeer(cDir.path, { name: 'cat' })
  running.push(a, b)
  const ws = await formWorkspace(a, [b, c])
  const A = a.connect()
  const bId = (await b.connect().request('identity.get', {})).deviceId
  const cId = (await c.connect().request('identity.get', {})).deviceId
  const docId = (await A.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'one' })).id
  const both = await waitFor('both teammates up to date', async () => {
    const s = await A.request('doc.syncStatus', { docId })
    return s.receipts.length === 2 && s.receipts.every((r) => r.upToDate) ? s : null
  })
  assert.ok(both.lastOwnEditAt !== null)
  for (const r of both.receipts) assert.equal(r.lacking, 0)
  const heldByCat = both.lastOwnEditAt

  // Cat goes away; Ana edits three more times; Ben gets them.
  await c.stop()
  await new Promise((r) => setTimeout(r, 20))
  let text = 'one'
  for (const w of [' two', ' three', ' four']) {
    text += w
    await A.request('doc.setText', { docId, text })
  }
  const s = await waitFor('ben current, cat behind', async () => {
    const s = await A.request('doc.syncStatus', { docId })
    const cat = s.receipts.find((r) => r.deviceId === cId)
    return s.receipts.find((r) => r.deviceId === bId)?.upToDate && cat && !cat.online ? s : null
  })
  const cat = s.receipts.find((r) => r.deviceId === cId)!
  assert.equal(cat.name, 'cat')
  assert.equal(cat.upToDate, false)
  assert.equal(cat.lacking, 3, 'the three changes made since')
  assert.equal(cat.yourEditsAsOf, heldByCat, 'the last edit it had')
  assert.ok(cat.lastSeen !== null && cat.lastSeen <= Date.now())
  assert.ok(s.lastOwnEditAt! > heldByCat!)
  const ben = s.receipts.find((r) => r.deviceId === bId)!
  assert.deepEqual([ben.upToDate, ben.lacking, ben.online], [true, 0, true])

  // Ana types on while Cat is away: each status adds only what is new to what Cat lacked (remembered per
  // Cat's heads), and says the same as a first count would.
  for (const [w, lacking] of [
    [' five', 4],
    [' six', 5],
  ] as const) {
    text += w
    await A.request('doc.setText', { docId, text })
    const again = (await A.request('doc.syncStatus', { docId })).receipts.find((r) => r.deviceId === cId)!
    assert.deepEqual([again.lacking, again.yourEditsAsOf], [lacking, heldByCat])
  }
})

// No periodic catch-up within a test: only the sessions it starts run.
const slow = { catchupIntervalMs: 600_000 }

/** Ana and Ben in one workspace, without periodic catch-up. */
async function anaAndBen() {
  const [aDir, bDir] = [tempDir(), tempDir()]
  dirs.push(aDir, bDir)
  const a = await startPeer(aDir.path, { name: 'ana', ...slow })
  const b = await startPeer(bDir.path, { name: 'ben', ...slow })
  // Stopped by `after` whatever happens (a peer left running keeps the file from ever ending).
  running.push(a, b)
  return { aDir, bDir, a, b, ws: await formWorkspace(a, [b]) }
}

test('a catch-up session records that the teammate holds the documents it found equal, not only those that travelled', async () => {
  // An equal workspace's session would record everything anyway: the test starts the one that matters.
  let { aDir, bDir, a, b, ws } = await anaAndBen()
  const untouched = (await a.connect().request('doc.create', { workspaceId: ws, title: 'Untouched', text: 'one' })).id
  const edited = (await a.connect().request('doc.create', { workspaceId: ws, title: 'Edited', text: 'two' })).id
  const upToDate = async (p: Peer, docId: string) => (await p.connect().request('doc.syncStatus', { docId })).upToDate.length === 1
  for (const p of [a, b]) for (const d of [untouched, edited]) await waitFor('both documents known held', () => upToDate(p, d))
  // Both forget what the other holds (as a restart before a heads announcement was written does), and Ana
  // edits one document while Ben is away: their next session reconciles and sends only that one.
  await Promise.all([a.stop(), b.stop()])
  for (const dir of [aDir, bDir]) {
    const db = new Database(join(dir.path, DB_FILE))
    db.prepare('DELETE FROM peer_doc_heads').run()
    db.close()
  }
  a = await startPeer(aDir.path, slow)
  running.push(a)
  await a.connect().request('doc.setText', { docId: edited, text: 'two, edited' })
  b = await startPeer(bDir.path, slow)
  running.push(b)
  await b.node.dial(a.node.getMultiaddrs()[0]!)
  await waitFor('the edit at Ben', async () => (await b.connect().request('doc.read', { docId: edited })).text === 'two, edited')
  const sessions = a.stats().catchup.sessions + b.stats().catchup.sessions
  for (const p of [a, b]) await waitFor('the edited document known held', () => upToDate(p, edited))
  // Nothing announces the untouched document (neither edits it): only the session that brought the edit can
  // say the teammate holds it. What the session learned is written as it ends (`recordSynced`), and the
  // edited document's announcement (100 ms after its commit) may come first: waited for, not read once.
  for (const [who, p] of [
    ['Ana', a],
    ['Ben', b],
  ] as const)
    await waitFor(`${who} knowing the teammate holds the untouched document`, () => upToDate(p, untouched), 5_000)
  assert.equal(a.stats().catchup.sessions + b.stats().catchup.sessions, sessions, 'from that session, not a later one')
})

test('a session does not take back what the record says a teammate holds beyond this side (its announcement of a change not taken here yet)', async () => {
  let { aDir, bDir, a, b, ws } = await anaAndBen()
  const docId = (await a.connect().request('doc.create', { workspaceId: ws, title: 'Plan', text: 'one' })).id
  const status = async (p: Peer) => p.connect().request('doc.syncStatus', { docId })
  for (const p of [a, b]) await waitFor('known held', async () => (await status(p)).upToDate.length === 1)
  const heads = (await status(b)).heads
  const ana = a.node.peerId.toString()
  await Promise.all([a.stop(), b.stop()])
  // Ben's record of Ana, as her announcement of a change that has not reached him yet leaves it: his heads,
  // and that change. (In the simulation it came while a session ran that had found the document equal.)
  const ahead = 'ab'.repeat(32)
  const written = Date.now() - 1_000
  const db = new Database(join(bDir.path, DB_FILE))
  db.prepare('UPDATE peer_doc_heads SET heads = ?, updated_at = ? WHERE peer_id = ? AND doc_id = ?').run(
    JSON.stringify([...heads, ahead]),
    written,
    ana,
    docId,
  )
  db.close()
  a = await startPeer(aDir.path, slow)
  b = await startPeer(bDir.path, slow)
  running.push(a, b)
  await b.node.dial(a.node.getMultiaddrs()[0]!)
  // Their workspaces are equal: the session records that Ana holds Ben's heads, as his record says otherwise.
  const record = await waitFor('the session wrote its record', () => {
    const read = new Database(join(bDir.path, DB_FILE), { readonly: true })
    try {
      const r = read.prepare('SELECT heads, updated_at FROM peer_doc_heads WHERE peer_id = ? AND doc_id = ?').get(ana, docId) as
        | { heads: string; updated_at: number }
        | undefined
      return r && r.updated_at > written ? (JSON.parse(r.heads) as string[]) : null
    } finally {
      read.close()
    }
  })
  assert.deepEqual([...record].sort(), [...heads, ahead].sort(), "Ben's heads, and the change Ana said she holds beyond them")
  assert.deepEqual((await status(b)).upToDate, [ana], 'and she is known to hold his heads')
})
