/**
 * What the desktop app needs from the peer, between real peers on 127.0.0.1: joins that wait for
 * the inviter's approval (after comparing safety words), presence, unread documents and activity.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'

const dirs = [tempDir(), tempDir(), tempDir()]
let ana: Peer, ben: Peer, cat: Peer // set in before()
let ws = ''

before(async () => {
  ;[ana, ben, cat] = (await Promise.all(['Ana', 'Ben', 'Cat'].map((name, i) => startPeer(dirs[i]!.path, { name })))) as [Peer, Peer, Peer]
  ws = (await ana.connect().request('workspace.create', { name: 'Studio' })).id
})

after(async () => {
  await Promise.allSettled([ana, ben, cat].map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

function events(peer: Peer): ClientEvent[] {
  const seen: ClientEvent[] = []
  peer.connect().onEvent((e) => seen.push(e))
  return seen
}

test("a join that needs approval waits for the inviter, who sees the joiner's safety words", async () => {
  const a = ana.connect()
  const anaEvents = events(ana)
  const invite = await a.request('workspace.invite', { workspaceId: ws, approve: true })
  const details = await ben.connect().request('invite.inspect', { code: invite.link })
  assert.equal(details.workspaceName, 'Studio')
  assert.equal(details.needsApproval, true)
  assert.equal(details.inviterSafetyWords, (await a.request('identity.get', {})).safetyWords)
  const benWords = (await ben.connect().request('identity.get', {})).safetyWords
  assert.equal(details.mySafetyWords, benWords)

  let joined = false
  const joining = ben
    .connect()
    .request('workspace.join', { code: invite.code })
    .then((w) => {
      joined = true
      return w
    })
  const req = await waitFor('the join request at the inviter', () => anaEvents.find((e) => e.type === 'join.request'))
  assert.ok(req.type === 'join.request')
  assert.equal(req.request.name, 'Ben')
  assert.equal(req.request.safetyWords, benWords, 'the inviter sees the same words the joiner sees')
  // The request has reached the inviter, so the join has gone as far as it can without a decision:
  // it is still pending, and Ben is in no workspace (state checked now, not after a pause).
  assert.deepEqual(await ben.connect().request('workspace.list', {}), [], 'the joiner is outside until the decision')
  assert.equal(joined, false, 'nothing completes before the inviter decides')
  assert.deepEqual(await a.request('join.decide', { requestId: req.request.requestId, accept: true }), {
    requestId: req.request.requestId,
    accepted: true,
  })
  assert.equal((await joining).id, ws)
  await assert.rejects(a.request('join.decide', { requestId: req.request.requestId, accept: true }), { code: 'not-found' })
})

test('a rejected join leaves the joiner outside', async () => {
  const a = ana.connect()
  const anaEvents = events(ana)
  const invite = await a.request('workspace.invite', { workspaceId: ws, approve: true })
  const joining = cat.connect().request('workspace.join', { code: invite.code })
  const req = await waitFor('the join request', () => anaEvents.find((e) => e.type === 'join.request'))
  assert.ok(req.type === 'join.request')
  await a.request('join.decide', { requestId: req.request.requestId, accept: false })
  await assert.rejects(joining, { code: 'forbidden' })
  assert.deepEqual(await cat.connect().request('workspace.list', {}), [])
  assert.ok(!(await a.request('workspace.members', { workspaceId: ws })).some((m) => m.name === 'Cat'))
})

test('presence: where a teammate is and what they have selected', async () => {
  const docId = (await ana.connect().request('doc.create', { workspaceId: ws, title: 'Notes', text: 'hello' })).id
  await waitFor('the doc on ben', async () => (await ben.connect().request('doc.list', { workspaceId: ws })).length === 1)
  const anaEvents = events(ana)
  const cursor = { anchor: '2@aa', head: '4@aa' }
  await ben.connect().request('presence.set', { workspaceId: ws, docId, cursor })
  const seen = await waitFor("ben's presence at ana", () =>
    anaEvents.find((e) => e.type === 'presence' && e.presence.deviceId === ben.device.deviceId && e.presence.docId === docId),
  )
  assert.ok(seen.type === 'presence')
  assert.equal(seen.presence.name, 'Ben')
  assert.deepEqual(seen.presence.cursor, cursor)
  assert.equal(typeof seen.presence.utcOffsetMinutes, 'number')
  const list = await ana.connect().request('presence.list', { workspaceId: ws })
  assert.equal(list.find((p) => p.deviceId === ben.device.deviceId)?.docId, docId)
  await assert.rejects(ben.connect().request('presence.set', { workspaceId: ws, docId: 'f'.repeat(32), cursor: null }), {
    code: 'not-found',
  })
})

test("a teammate's change makes a followed document unread and raises one activity notice", async () => {
  const a = ana.connect()
  const [doc] = await a.request('doc.list', { workspaceId: ws })
  assert.ok(doc)
  await a.request('doc.markRead', { docId: doc.id })
  assert.equal((await a.request('doc.list', { workspaceId: ws }))[0]!.unread, false)
  const anaEvents = events(ana)
  const b = ben.connect()
  for (const text of ['hello ben', 'hello ben!', 'hello ben!!']) await b.request('doc.setText', { docId: doc.id, text })
  await waitFor('unread at ana', async () => (await a.request('doc.list', { workspaceId: ws }))[0]!.unread)
  // All three edits are applied at Ana before the first notice goes out (it waits 3 s after the first
  // edit): then they all fold into that one notice, and no edit is left to raise a second.
  await waitFor('the three edits at ana', async () => (await a.request('doc.read', { docId: doc.id })).text === 'hello ben!!')
  assert.equal(anaEvents.filter((e) => e.type === 'doc.activity').length, 0, 'the edits arrived within the notice window')
  await waitFor('an activity notice', () => anaEvents.some((e) => e.type === 'doc.activity'), 10_000)
  const activity = anaEvents.filter((e) => e.type === 'doc.activity')
  assert.equal(activity.length, 1, 'three quick edits, one notice')
  const notice = activity[0]!
  assert.ok(notice.type === 'doc.activity')
  assert.equal(notice.byName, 'Ben')
  assert.equal(notice.title, 'Notes')
  await a.request('doc.markRead', { docId: doc.id })
  assert.equal((await a.request('doc.list', { workspaceId: ws }))[0]!.unread, false)
})

test('a listing event names the documents whose rows changed, and a window asks for those rows only', async () => {
  const a = ana.connect()
  const seen = events(ana)
  const one = await a.request('doc.create', { workspaceId: ws, title: 'One' })
  const two = await a.request('doc.create', { workspaceId: ws, title: 'Two' })
  const elsewhere = await a.request('workspace.create', { name: 'Elsewhere' })
  const far = await a.request('doc.create', { workspaceId: elsewhere.id, title: 'Far' })
  await waitFor('the events of the creations', () =>
    seen.some((e) => e.type === 'doc.list' && e.workspaceId === elsewhere.id && e.docIds?.includes(far.id)),
  )
  // Quiet for longer than the events' pace, so the next event is about the next change alone.
  await new Promise((r) => setTimeout(r, 700))
  seen.length = 0

  await a.request('doc.setText', { docId: one.id, text: 'first line' })
  const told = await waitFor('a listing event after the edit', () =>
    seen.find((e) => e.type === 'doc.list' && e.workspaceId === ws && e.docIds?.includes(one.id)),
  )
  assert.ok(told.type === 'doc.list')
  assert.deepEqual(told.docIds, [one.id], 'the event names the edited document, not the others')

  // Only the rows asked for, of this workspace: not another workspace's, not an unknown id.
  const rows = await a.request('doc.list', { workspaceId: ws, docIds: [one.id, far.id, 'f'.repeat(32)] })
  assert.deepEqual(
    rows.map((r) => r.id),
    [one.id],
  )
  assert.equal(rows[0]!.lastChangeAt, (await a.request('doc.list', { workspaceId: ws })).find((d) => d.id === one.id)!.lastChangeAt)

  // A deleted document's row is still given when asked for by id (a window drops it); the whole listing leaves it out.
  await a.request('doc.delete', { docId: two.id })
  await waitFor('a listing event naming the deleted document', () =>
    seen.some((e) => e.type === 'doc.list' && e.workspaceId === ws && e.docIds?.includes(two.id)),
  )
  const gone = await a.request('doc.list', { workspaceId: ws, docIds: [two.id] })
  assert.equal(gone.length, 1)
  assert.equal(gone[0]!.deleted, true)
  assert.ok(!(await a.request('doc.list', { workspaceId: ws })).some((d) => d.id === two.id))

  // Asking for another workspace's rows through a workspace one is not in is refused as any listing is.
  await assert.rejects(a.request('doc.list', { workspaceId: 'e'.repeat(32), docIds: [one.id] }), /Not a member/)
})
