/**
 * The peer keeps to the client protocol's one contract (shared/): between two real peers, every
 * method is called at least once and its result parses with its schema in `clientResultSchemas`,
 * and every event either peer pushes parses with `clientEventSchema`. A shape changed on one side
 * only fails here, not in a window.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { parseEvent, type ClientEvent } from '../../../shared/events.ts'
import { clientRequestSchemas, clientResultSchemas, type ClientMethod, type PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'

const dirs = [tempDir(), tempDir()]
let ana: Peer, ben: Peer // set in before()
const called = new Set<ClientMethod>()
const events: ClientEvent[] = []
const malformed: unknown[] = []

/** A client whose every result and event is checked against the shared schemas. */
function checked(peer: Peer): PeerClient {
  const inner = peer.connect()
  inner.onEvent((e) => {
    if (parseEvent(e)) events.push(e)
    else malformed.push(e)
  })
  return {
    async request(method, params) {
      const result = await inner.request(method, params)
      called.add(method)
      const parsed = clientResultSchemas[method].safeParse(result)
      assert.ok(parsed.success, `${method} result does not fit its schema: ${JSON.stringify(parsed.error?.issues)}`)
      return result
    },
    onEvent: (l) => inner.onEvent(l),
  }
}

before(async () => {
  ;[ana, ben] = (await Promise.all(['Ana', 'Ben'].map((name, i) => startPeer(dirs[i]!.path, { name })))) as [Peer, Peer]
})

after(async () => {
  await Promise.allSettled([ana, ben].map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

test('every result and every event fits the shared schemas', async () => {
  const a = checked(ana)
  const b = checked(ben)

  await a.request('identity.setName', { name: ' Ana ' })
  const me = await a.request('identity.get', {})
  const ws = await a.request('workspace.create', { name: 'Studio' })
  await a.request('workspace.list', {})
  const net = await a.request('network.info', {})
  // On loopback: no router to ask, and only this machine can connect.
  assert.equal(net.reachability.state, 'local')
  assert.equal(net.portMapping.state, 'not-needed')

  // A join that waits for Ana's approval: invite, inspect, join request event, decision.
  const invite = await a.request('workspace.invite', { workspaceId: ws.id, role: 'editor', approve: true })
  await b.request('invite.inspect', { code: invite.link })
  const joined = b.request('workspace.join', { code: invite.code, name: 'Ben' })
  const asked = await waitFor('the join request at Ana', () => events.find((e) => e.type === 'join.request'))
  assert.ok(asked.type === 'join.request')
  await a.request('join.decide', { requestId: asked.request.requestId, accept: true })
  await joined
  await a.request('workspace.members', { workspaceId: ws.id })
  await a.request('workspace.keys', { workspaceId: ws.id })

  // Documents, from both sides.
  const doc = await a.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'hello' })
  await a.request('doc.rename', { docId: doc.id, title: 'The plan' })
  await a.request('doc.setText', { docId: doc.id, text: 'hello world' })
  const opened = await a.request('doc.open', { docId: doc.id })
  const replica = A.change(A.load<{ text: string }>(opened.bytes, { actor: opened.actor }), (d) => A.splice(d, ['text'], 0, 0, '> '))
  await a.request('doc.applyChanges', { docId: doc.id, changes: [A.getLastLocalChange(replica)!] })
  await a.request('doc.read', { docId: doc.id })
  // Ben edits on top of all of Ana's text: setText diffs against what Ben holds, so a partial copy would merge.
  const anaHeads = (await a.request('doc.read', { docId: doc.id })).heads
  await waitFor('all of the document at Ben', async () => {
    if (!(await b.request('doc.list', { workspaceId: ws.id })).some((d) => d.id === doc.id)) return false
    const theirs = await b.request('doc.read', { docId: doc.id })
    return theirs.text === '> hello world' && anaHeads.every((h) => theirs.heads.includes(h))
  })
  await b.request('doc.open', { docId: doc.id })
  await b.request('doc.setText', { docId: doc.id, text: 'hello from Ben' })
  await waitFor("Ben's change at Ana", async () => (await a.request('doc.read', { docId: doc.id })).text === 'hello from Ben')
  await a.request('doc.syncStatus', { docId: doc.id })
  await a.request('doc.markRead', { docId: doc.id })
  // A window's editor worker: a session of its own, told only of its open documents' events.
  const editorWorker = checked(ana)
  await editorWorker.request('session.configure', { events: 'open-docs' })
  await editorWorker.request('session.configure', { events: 'all' })
  await b.request('search.query', { query: 'hello', workspaceId: ws.id })
  await a.request('search.rebuild', {})
  const { sessions } = await a.request('doc.history', { docId: doc.id })
  const first = sessions.at(-1)!.version
  await a.request('doc.version', { docId: doc.id, version: first.slice(0, 8) })
  await a.request('doc.restore', { docId: doc.id, version: first })
  await a.request('workspace.digest', { workspaceId: ws.id })
  await a.request('workspace.digest', { workspaceId: ws.id, since: 0 })
  await a.request('workspace.markAllRead', { workspaceId: ws.id })

  // A board, from both sides: Ben gives Ana a card; it is on her "my tasks".
  const board = await a.request('board.create', { workspaceId: ws.id, title: 'Sprint' })
  const column = await a.request('column.add', { docId: board.id, name: 'Review' })
  await a.request('column.rename', { docId: board.id, columnId: column.columnId, name: 'Check' })
  await a.request('column.move', { docId: board.id, columnId: column.columnId, index: 0 })
  const spareCard = await a.request('card.add', { docId: board.id, title: 'Spare', column: column.columnId, labels: ['x'] })
  await a.request('card.update', { docId: board.id, cardId: spareCard.cardId, description: 'not needed', due: '2027-01-31' })
  const last = (await a.request('board.read', { docId: board.id })).columns.at(-1)!.id
  await a.request('card.move', { docId: board.id, cardId: spareCard.cardId, column: last, index: 0 })
  await a.request('card.delete', { docId: board.id, cardId: spareCard.cardId })
  await a.request('column.delete', { docId: board.id, columnId: column.columnId })
  await waitFor('the board at Ben', async () => (await b.request('board.read', { docId: board.id })).columns.length === 3)
  const given = await b.request('card.add', { docId: board.id, title: 'Review the plan', assignee: me.deviceId, labels: ['docs'] })
  await waitFor("Ana's task from Ben", async () => (await a.request('tasks.mine', {})).some((t) => t.card.id === given.cardId))

  // Presence both ways.
  const cursor = { anchor: '2@aa', head: '4@aa' }
  await a.request('presence.set', { workspaceId: ws.id, docId: doc.id, cursor })
  await waitFor("Ana's presence at Ben", async () => (await b.request('presence.list', { workspaceId: ws.id })).length > 0)

  // Peers.
  await b.request('peer.list', {})
  await b.request('peer.dial', {
    address: net.listenAddresses.find((x) => x.includes('/p2p/')) ?? `${net.listenAddresses[0]}/p2p/${me.deviceId}`,
  })

  await a.request('doc.close', { docId: doc.id })
  await a.request('doc.delete', { docId: doc.id })
  await a.request('doc.list', { workspaceId: ws.id, includeDeleted: true })

  // Invites: the list, a revocation, the requests waiting (none now).
  const spare = await a.request('workspace.invite', { workspaceId: ws.id, approve: false })
  await a.request('invite.revoke', { inviteId: spare.id })
  await a.request('invite.list', { workspaceId: ws.id, includeClosed: true })
  await a.request('join.requests', {})

  // Membership: a role change; Ben leaves a second workspace; then Ana removes him from the first.
  await a.request('member.setRole', { workspaceId: ws.id, deviceId: ben.device.deviceId, role: 'viewer' })
  const side = await a.request('workspace.create', { name: 'Side' })
  await b.request('workspace.join', { code: (await a.request('workspace.invite', { workspaceId: side.id, approve: false })).code })
  await b.request('workspace.leave', { workspaceId: side.id })
  await a.request('member.remove', { workspaceId: ws.id, deviceId: ben.device.deviceId })

  await waitFor('the activity notice at Ana', () => events.some((e) => e.type === 'doc.activity'))
  const missing = (Object.keys(clientRequestSchemas) as ClientMethod[]).filter((m) => !called.has(m))
  assert.deepEqual(missing, [], 'every method is called')
  assert.deepEqual(malformed, [], 'no event the shared schema refuses')
  const types = [
    'join.request',
    'join.settled',
    'invite.list',
    'doc.list',
    'doc.changes',
    'doc.activity',
    'workspace.members',
    'presence',
  ] as const
  for (const type of types) {
    assert.ok(
      events.some((e) => e.type === type),
      `a ${type} event was seen`,
    )
  }
})
