/**
 * Delivery receipts (`doc.syncStatus` receipts): for each teammate, which of this device's edits it is
 * known to hold, how many it lacks, and whether it is online; from what peers already tell each other of
 * their heads, with nothing sent for it.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'

const dirs: ReturnType<typeof tempDir>[] = []
const running: Peer[] = []
after(async () => {
  await Promise.allSettled(running.map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

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
