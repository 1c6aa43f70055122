/**
 * A board at one real peer (127.0.0.1, profile in a temp folder): each kind of bad request is refused
 * with its code and changes nothing; a board a replica damaged (wrong types, a card in no column, keys
 * that are not keys, the cards replaced by a list) still reads and takes edits; search finds cards;
 * the kind survives a restart.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { GrapevineError, type PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { openReplica } from './replica.ts'
import { startPeer, tempDir } from './helpers.ts'

const dir = tempDir()
let peer: Peer | undefined
after(async () => {
  await peer?.stop()
  dir.remove()
})

/** The error code a request fails with ('none' if it does not fail). */
async function failsWith(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof GrapevineError, String(err))
    return err.code
  }
  return 'none'
}

test('bad requests are refused and change nothing; a damaged board still reads and takes edits; search; restart', async () => {
  peer = await startPeer(dir.path, { name: 'Ana' })
  let c: PeerClient = peer.connect()
  const ws = (await c.request('workspace.create', { name: 'Studio' })).id
  const notes = await c.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'plain text' })
  const created = await c.request('board.create', { workspaceId: ws, title: 'Sprint' })
  assert.equal(created.kind, 'board')
  const docId = created.id
  let board = await c.request('board.read', { docId })
  assert.deepEqual(
    board.columns.map((k) => k.name),
    ['To do', 'Doing', 'Done'],
  )
  const [todo, doing] = board.columns.map((k) => k.id) as [string, string]
  const ship = (await c.request('card.add', { docId, title: 'Ship the board', description: 'with zebras' })).cardId
  const other = (await c.request('card.add', { docId, title: 'Other', column: doing })).cardId
  const heads = (await c.request('board.read', { docId })).heads

  // Refused: each with the code a client acts on, and the board as it was.
  const me = (await c.request('identity.get', {})).deviceId
  const stranger = '12D3KooWBmAwcd4PJNJvfV89HwE48nwkRmAgo8Vy3uQEyNNHBox2'
  const refusals: [string, Promise<unknown>][] = [
    ['bad-request', c.request('board.read', { docId: notes.id })],
    ['bad-request', c.request('card.add', { docId: notes.id, title: 'x' })],
    ['bad-request', c.request('doc.setText', { docId, text: 'overwritten' })],
    ['bad-request', c.request('card.add', { docId, title: 'x', assignee: stranger })],
    ['bad-request', c.request('card.update', { docId, cardId: ship, assignee: stranger })],
    ['bad-request', c.request('card.add', { docId, title: 'x', due: '2027-02-30' })],
    ['bad-request', c.request('card.add', { docId, title: 'x'.repeat(501) })],
    ['bad-request', c.request('card.add', { docId, title: 'x', labels: ['a'.repeat(41)] })],
    ['bad-request', c.request('card.move', { docId, cardId: ship, column: todo, before: other, index: 1 })],
    ['bad-request', c.request('column.add', { docId, name: ' ' })],
    ['not-found', c.request('board.read', { docId: 'f'.repeat(32) })],
    ['not-found', c.request('card.add', { docId, title: 'x', column: 'nope' })],
    ['not-found', c.request('card.move', { docId, cardId: 'nope', column: todo })],
    ['not-found', c.request('card.move', { docId, cardId: ship, column: todo, before: other })],
    ['not-found', c.request('card.update', { docId, cardId: 'nope', title: 'x' })],
    ['not-found', c.request('card.delete', { docId, cardId: 'nope' })],
    ['not-found', c.request('column.rename', { docId, columnId: 'nope', name: 'x' })],
    ['not-found', c.request('tasks.mine', { workspaceId: 'f'.repeat(32) })],
  ]
  for (const [code, p] of refusals) assert.equal(await failsWith(p), code)
  assert.deepEqual((await c.request('board.read', { docId })).heads, heads, 'nothing refused changed the board')

  // A replica writes garbage into the board (any writer's replica could, or a teammate's peer).
  const replica = await openReplica(c, docId)
  await replica.edit((d) => {
    const b = d as unknown as Record<string, Record<string, unknown>>
    b['cards']!['junk'] = 'not a card'
    b['cards']!['k9'] = { title: 7, column: 'nowhere', pos: '??', labels: [1], assignee: 'x y', due: 'soon' }
    b['columns']!['bad'] = { name: 5, pos: null }
    ;(b['cards']![ship] as Record<string, unknown>)['pos'] = 12
  })
  board = await c.request('board.read', { docId })
  const first = board.columns[0]!
  assert.equal(first.id, todo)
  assert.deepEqual(
    first.cards.map((k) => k.id),
    ['k9', ship].sort(),
    'the card in no column shows in the first; both keys invalid: by id',
  )
  const k9 = first.cards.find((k) => k.id === 'k9')!
  assert.deepEqual([k9.title, k9.assignee, k9.due, k9.labels, k9.pos], ['', null, null, [], null])
  assert.equal(board.columns.at(-1)!.name, '', 'a column with a name that is not text has none')
  // It still takes edits: a move into the first column re-keys it, the garbage card can be moved and edited.
  await c.request('card.move', { docId, cardId: other, column: todo, index: 1 })
  await c.request('card.update', { docId, cardId: 'k9', title: 'Rescued', assignee: me })
  board = await c.request('board.read', { docId })
  assert.deepEqual(
    board.columns[0]!.cards.map((k) => k.id),
    [...['k9', ship].sort().slice(0, 1), other, ...['k9', ship].sort().slice(1)],
  )
  assert.ok(board.columns[0]!.cards.every((k) => k.pos !== null))
  assert.deepEqual(
    (await c.request('tasks.mine', {})).map((t) => [t.card.title, t.columnName]),
    [['Rescued', 'To do']],
  )

  // Search finds what is on cards (a board's text is its rendering).
  const hits = await c.request('search.query', { query: 'zebras' })
  assert.deepEqual(
    hits.map((h) => h.docId),
    [docId],
  )
  assert.match((await c.request('doc.read', { docId })).text, /^## To do\n\n(- .*\n)*- Ship the board\n {2}with zebras\n/)

  // The cards replaced by a list: the board reads empty and takes a card again.
  await replica.edit((d) => {
    ;(d as unknown as Record<string, unknown>)['cards'] = []
  })
  replica.close()
  assert.equal((await c.request('board.read', { docId })).columns.flatMap((k) => k.cards).length, 0)
  await c.request('card.add', { docId, title: 'Again' })

  // The kind is kept: after a restart, doc.list still says which is a board.
  await peer.stop()
  peer = await startPeer(dir.path, { name: 'Ana' })
  c = peer.connect()
  const kinds = (await c.request('doc.list', { workspaceId: ws })).map((d) => `${d.title}:${d.kind}`).sort()
  assert.deepEqual(kinds, ['Notes:text', 'Sprint:board'])
  assert.deepEqual(
    (await c.request('board.read', { docId })).columns.flatMap((k) => k.cards.map((x) => x.title)),
    ['Again'],
  )
})

test("a board's history: an older version reads as the board's text, with the cards moved since marked; restore is refused", async () => {
  peer ??= await startPeer(dir.path, { name: 'Ana' })
  const c = peer.connect()
  const ws = (await c.request('workspace.create', { name: 'History' })).id
  const docId = (await c.request('board.create', { workspaceId: ws, title: 'Week' })).id
  const done = (await c.request('board.read', { docId })).columns.at(-1)!.id
  const a = (await c.request('card.add', { docId, title: 'Write the plan' })).cardId
  await c.request('card.add', { docId, title: 'Call Ben' })
  const [then] = (await c.request('board.read', { docId })).heads
  await c.request('card.move', { docId, cardId: a, column: done })
  const v = await c.request('doc.version', { docId, version: then! })
  assert.equal(v.title, 'Week')
  assert.match(v.text, /^## To do\n\n- Write the plan\n- Call Ben\n/)
  // The moved card's line is gone from To do and added under Done.
  assert.deepEqual(
    v.removed.map(([from, to]) => v.text.slice(from, to)),
    ['- Write the plan\n'],
  )
  assert.deepEqual(
    v.added.map((x) => x.text),
    ['- Write the plan\n'],
  )
  assert.ok(v.added[0]!.at > v.text.indexOf('## Done'), 'added under Done')
  const history = await c.request('doc.history', { docId })
  assert.ok(history.sessions.length >= 1 && history.sessions[0]!.changes >= 4, 'the board edits are one session of Ana')
  assert.equal(await failsWith(c.request('doc.restore', { docId, version: then! })), 'bad-request')
  c.close()
})
