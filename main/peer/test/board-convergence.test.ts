/**
 * Three real peers (127.0.0.1, profiles in temp folders) edit one board while partitioned: random
 * concurrent card adds, moves within and between columns, field edits, deletes and column changes,
 * through the client protocol. After each heal every peer must show the same board, in the same
 * order, with every card added and not deleted exactly once. Seeded (the seed is printed;
 * `GRAPEVINE_SEED` replays the choices: each peer's own, and the partitions; two peers on one side may
 * see each other's edits at other moments in a replay); `GRAPEVINE_BOARD_ROUNDS` runs more rounds than
 * the default 3.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'
import { openReplica } from './replica.ts'
import { seededRandom, type Random } from './random.ts'
import { Network } from './sim/network.ts'

const rnd = seededRandom('board convergence')
const ROUNDS = Number(process.env['GRAPEVINE_BOARD_ROUNDS'] ?? 3)
const OPS_PER_PEER = 8

const dirs = [tempDir(), tempDir(), tempDir()]
const peers: Peer[] = []
after(async () => {
  await Promise.allSettled(peers.map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

const connected = (a: Peer, b: Peer): boolean => a.node.getConnections(b.node.peerId).some((c) => c.status === 'open')

async function hangUpBlocked(net: Network): Promise<void> {
  const hangups: Promise<void>[] = []
  for (const a of peers)
    for (const b of peers)
      if (a !== b && net.blocked(a.device.deviceId, b.device.deviceId) && connected(a, b))
        hangups.push(a.node.hangUp(b.node.peerId).catch(() => {}))
  await Promise.all(hangups)
}

async function connectAll(): Promise<void> {
  const dials: Promise<unknown>[] = []
  for (const [i, a] of peers.entries())
    for (const b of peers.slice(i + 1))
      if (!connected(a, b)) dials.push(a.node.dial(b.node.getMultiaddrs(), { signal: AbortSignal.timeout(5_000) }).catch(() => {}))
  await Promise.all(dials)
}

type Made = { added: Set<string>; deleted: Set<string> }

/** One random edit of the board by one peer, chosen from what that peer shows now. */
async function randomEdit(c: PeerClient, docId: string, r: Random, members: string[], made: Made, log: string[]): Promise<void> {
  const board = await c.request('board.read', { docId })
  const columns = board.columns.filter((k) => !k.implicit)
  const cards = board.columns.flatMap((k) => k.cards)
  const placeIn = (column: (typeof columns)[number], without?: string) => {
    const there = column.cards.filter((k) => k.id !== without)
    const roll = r.int(3)
    if (roll === 0 && there.length) return { before: r.pick(there).id }
    if (roll === 1 && there.length) return { after: r.pick(there).id }
    return { index: r.int(there.length + 1) }
  }
  const roll = r.int(100)
  if (columns.length === 0) {
    await c.request('column.add', { docId, name: `col ${r.text(3)}` })
    log.push('column.add (none left)')
  } else if (roll < 30 || cards.length === 0) {
    const column = r.pick(columns)
    const res = await c.request('card.add', { docId, title: `card ${r.text(4)}`, column: column.id, ...placeIn(column) })
    made.added.add(res.cardId)
    log.push(`card.add ${res.cardId}`)
  } else if (roll < 65) {
    const card = r.pick(cards)
    const column = r.pick(columns)
    await c.request('card.move', { docId, cardId: card.id, column: column.id, ...placeIn(column, card.id) })
    log.push(`card.move ${card.id} → ${column.id}`)
  } else if (roll < 85) {
    const card = r.pick(cards)
    await c.request('card.update', {
      docId,
      cardId: card.id,
      title: `${card.title} ${r.text(2)}`,
      ...(r.int(2) ? { description: `${card.description}${r.text(3)}` } : {}),
      ...(r.int(2) ? { labels: [r.pick(['bug', 'ui', 'p1'])] } : {}),
      ...(r.int(3) === 0 ? { due: `2027-0${r.between(1, 9)}-1${r.int(10)}` } : {}),
      ...(r.int(3) === 0 ? { assignee: r.int(4) ? r.pick(members) : null } : {}),
    })
    log.push(`card.update ${card.id}`)
  } else if (roll < 92) {
    const card = r.pick(cards)
    await c.request('card.delete', { docId, cardId: card.id })
    made.deleted.add(card.id)
    log.push(`card.delete ${card.id}`)
  } else if (roll < 96) {
    const column = r.pick(columns)
    await c.request('column.rename', { docId, columnId: column.id, name: `${column.name.slice(0, 20)} ${r.text(2)}` })
    log.push(`column.rename ${column.id}`)
  } else if (roll < 98 || columns.length < 3) {
    const res = await c.request('column.add', { docId, name: `col ${r.text(3)}`, index: r.int(columns.length + 1) })
    log.push(`column.add ${res.columnId}`)
  } else {
    const column = r.pick(columns)
    await c.request('column.delete', { docId, columnId: column.id })
    log.push(`column.delete ${column.id}`)
  }
}

test('random concurrent card moves and edits on 3 partitioned peers converge: the same board, every card exactly once', async () => {
  const net = new Network()
  const ids: string[] = []
  for (const [i, name] of ['ana', 'ben', 'cleo'].entries())
    peers.push(await startPeer(dirs[i]!.path, { name, limits: { deny: (peerId) => ids[i] !== undefined && net.blocked(ids[i], peerId) } }))
  ids.push(...peers.map((p) => p.device.deviceId))
  const clients = peers.map((p) => p.connect())
  const ws = await formWorkspace(peers[0]!, peers.slice(1))
  const docId = (await clients[0]!.request('board.create', { workspaceId: ws, title: 'Sprint' })).id
  await connectAll()
  for (const c of clients) {
    await waitFor('the board on every peer', () => c.request('board.read', { docId }), 20_000)
    const row = (await c.request('doc.list', { workspaceId: ws })).find((d) => d.id === docId)
    assert.equal(row?.kind, 'board', 'listed as a board where it arrived by sync too')
  }

  const made: Made = { added: new Set(), deleted: new Set() }
  const sources = peers.map(() => rnd.fork())
  for (let round = 0; round < ROUNDS; round++) {
    // A partition: one peer alone, or all three apart.
    const alone = rnd.int(4)
    const groups = alone === 3 ? ids.map((id) => [id]) : [[ids[alone]!], ids.filter((_, i) => i !== alone)]
    net.partition(groups)
    await hangUpBlocked(net)
    const log: string[][] = peers.map(() => [])
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < OPS_PER_PEER; k++) await randomEdit(c, docId, sources[i]!, ids, made, log[i]!)
      }),
    )
    // Apart, they did diverge: each side holds changes the other lacks (so the merge below is a real one).
    const apart = await Promise.all(clients.map((c) => c.request('board.read', { docId })))
    const sideOf = (i: number) => groups.findIndex((g) => g.includes(ids[i]!))
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        if (sideOf(i) !== sideOf(j))
          assert.ok(
            apart[i]!.heads.some((h) => !apart[j]!.heads.includes(h)),
            `round ${round}: the partition held`,
          )
    net.heal()
    await connectAll()
    const views = await waitFor(
      `round ${round}: the same board on every peer`,
      async () => {
        const reads = await Promise.all(clients.map((c) => c.request('board.read', { docId })))
        const key = (b: (typeof reads)[number]) => JSON.stringify([b.title, b.columns, [...b.heads].sort()])
        return reads.every((b) => key(b) === key(reads[0]!)) ? reads : null
      },
      30_000,
      100,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nseed=${rnd.seed}; what each peer did:\n${log.map((l, i) => `  ${ids[i]}: ${l.join(', ')}`).join('\n')}`,
      )
    })
    const shown = views[0]!.columns.flatMap((k) => k.cards.map((card) => card.id))
    assert.equal(new Set(shown).size, shown.length, `round ${round}: a card shows twice`)
    const expected = [...made.added].filter((id) => !made.deleted.has(id)).sort()
    assert.deepEqual([...shown].sort(), expected, `round ${round}: cards lost or brought back (seed=${rnd.seed})`)
    console.log(
      `round ${round}: partition ${groups.map((g) => g.length).join('+')}; ${shown.length} cards in ${views[0]!.columns.length} columns`,
    )
  }
  assert.ok(made.added.size > 0)

  // A teammate's replica writes garbage into the board: it reaches the others as any change does, and
  // every peer still reads the same board, the damaged card shown in the first column.
  const replica = await openReplica(clients[1]!, docId)
  await replica.edit((d) => {
    const b = d as unknown as Record<string, Record<string, unknown>>
    b['cards']!['junk'] = 42
    b['cards']!['odd'] = { title: ['x'], column: 7, pos: { a: 1 }, labels: 'l', due: 20270101 }
  })
  replica.close()
  const damaged = await waitFor(
    "the teammate's damaged board on every peer",
    async () => {
      const reads = await Promise.all(clients.map((c) => c.request('board.read', { docId })))
      return reads.every((b) => JSON.stringify(b) === JSON.stringify(reads[0])) && reads[0]!.columns[0]!.cards.some((k) => k.id === 'odd')
        ? reads[0]!
        : null
    },
    30_000,
    100,
  )
  const odd = damaged.columns[0]!.cards.find((k) => k.id === 'odd')!
  assert.deepEqual([odd.title, odd.pos, odd.labels, odd.due], ['', null, [], null])
  assert.ok(!damaged.columns.some((c) => c.cards.some((k) => k.id === 'junk')))
})
