/**
 * "While you were away" (`workspace.digest`, `workspace.markAllRead`; sync/digest.ts): what teammates did
 * in a workspace since this device last read each document, who and how much, the passages two people
 * edited concurrently, new documents and new members. Real peers on 127.0.0.1, SQLite in temp folders.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'

const dirs: ReturnType<typeof tempDir>[] = []
const running = new Set<Peer>()
after(async () => {
  await Promise.allSettled([...running].map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

async function start(dir: string, name: string): Promise<Peer> {
  const p = await startPeer(dir, { name })
  running.add(p)
  return p
}
async function stop(p: Peer): Promise<void> {
  running.delete(p)
  await p.stop()
}
const dial = (from: Peer, to: Peer): Promise<unknown> => from.node.dial(to.node.getMultiaddrs())

test('the digest: who changed what since Ana read it, the passage Ben and Cat edited at the same time, a new document and a new member; mark all read', async () => {
  const [aDir, bDir, cDir, dDir] = [tempDir(), tempDir(), tempDir(), tempDir()]
  dirs.push(aDir, bDir, cDir, dDir)
  const a = await start(aDir.path, 'ana')
  let b = await start(bDir.path, 'ben')
  let c = await start(cDir.path, 'cat')
  const ws = await formWorkspace(a, [b, c])
  const ana = a.connect()
  const text = 'Intro.\nThe launch is on Monday at the harbour.\nOutro.'
  const docId = (await ana.request('doc.create', { workspaceId: ws, title: 'Launch', text })).id
  const quiet = (await ana.request('doc.create', { workspaceId: ws, title: 'Quiet', text: 'nobody touches this' })).id
  for (const p of [b, c])
    await waitFor('both documents everywhere', async () => (await p.connect().request('doc.list', { workspaceId: ws })).length === 2)
  await ana.request('doc.markRead', { docId })
  await ana.request('doc.markRead', { docId: quiet })
  assert.deepEqual((await ana.request('workspace.digest', { workspaceId: ws })).documents, [], 'nothing new once read')

  // Ben and Cat change the same sentence, each without the other's change: Cat is stopped while Ben edits,
  // Ben while Cat edits.
  const cDevice = (await c.connect().request('identity.get', {})).deviceId
  await stop(c)
  await b.connect().request('doc.setText', { docId, text: text.replace('Monday', 'Tuesday') })
  await waitFor('Ben’s edit at Ana', async () => (await ana.request('doc.read', { docId })).text.includes('Tuesday'))
  const bDevice = (await b.connect().request('identity.get', {})).deviceId
  await stop(b)
  c = await start(cDir.path, 'cat')
  await c.connect().request('doc.setText', { docId, text: text.replace('harbour', 'old harbour pier') })
  await dial(c, a)
  await waitFor('Cat’s edit at Ana', async () => (await ana.request('doc.read', { docId })).text.includes('pier'))
  b = await start(bDir.path, 'ben')
  await dial(b, a)
  // Ben also makes a document; Dan joins.
  const made = (await b.connect().request('doc.create', { workspaceId: ws, title: 'Ben’s notes', text: 'ideas' })).id
  await waitFor('Ben’s new document at Ana', async () => (await ana.request('doc.list', { workspaceId: ws })).some((d) => d.id === made))
  const d = await start(dDir.path, 'dan')
  const invite = await ana.request('workspace.invite', { workspaceId: ws, approve: false })
  await d.connect().request('workspace.join', { code: invite.code })

  const digest = await ana.request('workspace.digest', { workspaceId: ws })
  const launch = digest.documents.find((x) => x.docId === docId)!
  assert.ok(launch, 'the changed document is in the digest')
  assert.equal(launch.created, false)
  assert.deepEqual(launch.authors.map((x) => [x.name, x.deviceId]).sort(), [
    ['ben', bDevice],
    ['cat', cDevice],
  ])
  const ben = launch.authors.find((x) => x.name === 'ben')!
  assert.deepEqual([ben.inserted, ben.deleted], [4, 3], 'Monday → Tuesday: "Mon" out, "Tues" in (the text is set by a character diff)')
  assert.equal(launch.compared, true)
  assert.equal(launch.passages.length, 1, JSON.stringify(launch.passages))
  assert.deepEqual(launch.passages[0]!.authors, ['ben', 'cat'])
  assert.match(launch.passages[0]!.excerpt, /Tuesday at the old harbour pier/)
  assert.ok(launch.readHeads && launch.readHeads.length > 0, 'the heads Ana read it at, for the editor to mark what is new')
  assert.ok(!digest.documents.some((x) => x.docId === quiet), 'an unchanged document is not listed')
  const notes = digest.documents.find((x) => x.docId === made)!
  assert.equal(notes.created, true)
  assert.deepEqual(
    notes.authors.map((x) => x.name),
    ['ben'],
  )
  assert.deepEqual(
    digest.members.map((m) => [m.name, m.role]),
    [['dan', 'editor']],
  )

  // Mark all read: nothing left; an explicit --since still reports what was made since then.
  assert.equal((await ana.request('workspace.markAllRead', { workspaceId: ws })).documents, 3)
  const after = await ana.request('workspace.digest', { workspaceId: ws })
  assert.deepEqual([after.documents, after.members], [[], []])
  const since = await ana.request('workspace.digest', { workspaceId: ws, since: 0 })
  assert.deepEqual(since.documents.map((x) => x.docId).sort(), [docId, made].sort(), 'since the beginning: what teammates wrote')

  // Bad input: a workspace this device is not in.
  await assert.rejects(ana.request('workspace.digest', { workspaceId: 'ab'.repeat(16) }), { code: 'not-found' })
})
