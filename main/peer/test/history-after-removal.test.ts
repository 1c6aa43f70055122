/**
 * Removal and demotion keep history valid (issue 8), between real peers on 127.0.0.1: Ana (owner),
 * Ben and Cleo (editors) write; Ana removes Ben and makes Cleo a viewer; then Dev joins. Dev gets
 * every document by catch-up and accepts all of Ben's and Cleo's old changes (each is judged in the
 * membership state it names, and the changes concurrent with a revocation are endorsed by Ana's
 * peer): its text is identical to everyone's. What Ben signs afterwards is refused by every peer,
 * whatever membership heads it claims.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import type { Peer } from '../peer.ts'
import { signChange } from '../sync/change-validation.ts'
import { heads, verifyOp, type VerifiedOp } from '../workspace/membership.ts'
import { catchupInject, changeOnTop, stopAll, type Dir } from './attacker.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'

const dirs: Dir[] = []
const peers: Peer[] = []

after(() => stopAll(peers, dirs))

/** The heads of a peer's membership op graph, read from its database (what its changes name as `m`). */
function membershipHeads(peer: Peer, ws: string): string[] {
  const db = new Database(peer.dbPath, { readonly: true })
  try {
    const rows = db.prepare('SELECT author, signature, bytes FROM membership_ops WHERE workspace_id = ?').all(ws) as {
      author: string
      signature: Uint8Array
      bytes: Uint8Array
    }[]
    return heads(rows.map((r) => verifyOp(ws, { a: r.author, s: r.signature, b: r.bytes })).filter((v): v is VerifiedOp => v !== null))
  } finally {
    db.close()
  }
}

const members = async (p: Peer, ws: string): Promise<string> =>
  (await p.connect().request('workspace.members', { workspaceId: ws }))
    .map((m) => `${m.name}:${m.role}`)
    .sort()
    .join(' ')

test("a member who joins after a removal and a demotion accepts the removed and demoted members' history", async () => {
  for (let i = 0; i < 4; i++) dirs.push(tempDir())
  const [ana, ben, cleo] = await Promise.all(['Ana', 'Ben', 'Cleo'].map((name, i) => startPeer(dirs[i]!.path, { name })))
  peers.push(ana!, ben!, cleo!)
  const [a, b, c] = [ana!.connect(), ben!.connect(), cleo!.connect()]
  const ws = await formWorkspace(ana!, [ben!, cleo!])
  // A shared document all three write in, and one only Ben writes in.
  const shared = (await a.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'ana\n' })).id
  await waitFor('the document at Ben and Cleo', async () => {
    const reads = await Promise.all([b, c].map((x) => x.request('doc.read', { docId: shared }).catch(() => null)))
    return reads.every((r) => r?.text === 'ana\n')
  })
  await b.request('doc.setText', { docId: shared, text: 'ana\nben\n' })
  await waitFor('Ben’s line at Cleo', async () => (await c.request('doc.read', { docId: shared })).text.includes('ben'))
  await c.request('doc.setText', { docId: shared, text: 'ana\nben\ncleo\n' })
  const solo = (await b.request('doc.create', { workspaceId: ws, title: 'Ben’s notes', text: 'only ben wrote this\n' })).id
  for (const x of [a, c]) {
    await waitFor('everything everywhere', async () => {
      const s = await x.request('doc.read', { docId: shared }).catch(() => null)
      const n = await x.request('doc.read', { docId: solo }).catch(() => null)
      return s?.text === 'ana\nben\ncleo\n' && n?.text === 'only ben wrote this\n'
    })
  }
  const mBefore = membershipHeads(ana!, ws)
  const soloBytes = (await b.request('doc.open', { docId: solo })).bytes
  await b.request('doc.close', { docId: solo })

  await a.request('member.remove', { workspaceId: ws, deviceId: ben!.device.deviceId })
  await a.request('member.setRole', { workspaceId: ws, deviceId: cleo!.device.deviceId, role: 'viewer' })
  for (const p of [ana!, cleo!]) await waitFor('the new membership', async () => (await members(p, ws)) === 'Ana:owner Cleo:viewer')
  const texts = async (p: Peer) => Promise.all([shared, solo].map(async (d) => (await p.connect().request('doc.read', { docId: d })).text))
  const expected = ['ana\nben\ncleo\n', 'only ben wrote this\n']
  assert.deepEqual(await texts(ana!), expected, 'the owner keeps the history')

  // Dev joins afterwards and gets it all by catch-up: Ben's and Cleo's old changes are accepted.
  const dev = await startPeer(dirs[3]!.path, { name: 'Dev' })
  peers.push(dev)
  const invite = await a.request('workspace.invite', { workspaceId: ws, approve: false })
  await dev.connect().request('workspace.join', { code: invite.code })
  const d = dev.connect()
  await waitFor(
    'both documents, whole, at the late joiner',
    async () => {
      const got = await texts(dev).catch(() => null)
      return got !== null && got[0] === expected[0] && got[1] === expected[1]
    },
    30_000,
  )
  for (const p of [ana!, cleo!, dev]) {
    await p.settle()
    assert.deepEqual(await texts(p), expected)
  }
  // Ana and Dev hold the same changes. (Cleo may hold one more: an endorsement it signed for Ben's
  // removal before it learned of its own demotion, which the others refuse: removal wins.)
  const headsOf = async (p: Peer) => (await p.connect().request('doc.read', { docId: shared })).heads.sort().join()
  await waitFor('identical heads on Ana and Dev', async () => (await headsOf(ana!)) === (await headsOf(dev)))

  // Ben's modified client signs new changes: with the heads it had before its removal, or with the
  // current ones. Cleo (a member) relays them to Dev and to Ana: every peer refuses them.
  const mNow = membershipHeads(ana!, ws)
  const actor = `${ben!.device.actorPrefix}0123456789abcdef`
  const forged = [mBefore, mNow].map((m, i) => signChange(ben!.device, ws, solo, changeOnTop(soloBytes, actor, `NEW${i} `), m))
  await cleo!.node.dial(dev.node.getMultiaddrs())
  for (const victim of [dev, ana!]) {
    const before = victim.stats().catchup.rejected
    const frames = await catchupInject(cleo!.node, victim.node.peerId, ws, solo, forged)
    assert.equal(frames.at(-1)?.t, 'end')
    assert.equal(victim.stats().catchup.rejected - before, 2, 'both forged changes are refused')
    await victim.settle()
    assert.deepEqual(await texts(victim), expected)
  }
  assert.equal((await d.request('doc.list', { workspaceId: ws })).length, 2)
})
