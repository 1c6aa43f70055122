/**
 * Covers (sync/covers.ts, own-covers.ts) through three real peers on 127.0.0.1: keys Alice types with Carol
 * connected each leave alone; once her typing pauses she puts them under a cover, which takes their place in
 * her log and in Carol's (Carol checks it first), and Bob, back later, takes the cover in catch-up instead of
 * an envelope per key. A keeper, which cannot open a cover, keeps a row for each covered change from its
 * hashes and deps in clear, and with them serves the cover and knows the history's heads when a teammate
 * builds on a change inside it. A peer that stops before the pause covers its keys as it stops, and sends
 * the cover to the teammates still connected.
 */
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import * as A from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { openReplica } from './replica.ts'
import { awayWhileTyped } from './away-while-typed.ts'

const KEYS = 300
const dirs: Dir[] = Array.from({ length: 10 }, () => tempDir())
const running: Peer[] = []
after(() => stopAll(running, dirs))

/** A peer's database, read as another process would, while it runs. */
function readDb<T>(p: Peer, fn: (db: Database.Database) => T): T {
  const db = new Database(p.dbPath, { readonly: true, fileMustExist: true })
  try {
    return fn(db)
  } finally {
    db.close()
  }
}

/** Alice's rows of the document in a peer's log: those a cover carries, and those that carry themselves. */
function rowsOf(p: Peer, docId: string, author: string): { covered: number; alone: number } {
  const db = new Database(p.dbPath, { readonly: true, fileMustExist: true })
  try {
    const count = (where: string): number =>
      (
        db
          .prepare(
            `SELECT count(*) AS n FROM changes WHERE doc = (SELECT id FROM doc_keys WHERE doc = ?)
              AND author = (SELECT id FROM authors WHERE device = ?) AND ${where}`,
          )
          .get(docId, author) as { n: number }
      ).n
    return { covered: count('cover IS NOT NULL'), alone: count('cover IS NULL') }
  } finally {
    db.close()
  }
}

it(`${KEYS} keys typed with a teammate online go under a cover, at the author and the teammate, and a device back later takes the cover`, {
  timeout: 120_000,
}, async () => {
  const { alice, carol, docId, typed, start, text } = await awayWhileTyped(
    dirs.slice(0, 3).map((d) => d.path),
    KEYS,
    { covers: { idleMs: 300 } },
    running,
  )

  const me = alice.device.deviceId
  await waitFor('Alice covered her keys', () => alice.stats().covers.changes >= KEYS, 30_000)
  const atAlice = rowsOf(alice, docId, me)
  assert.ok(atAlice.covered >= KEYS, `Alice's own log: ${atAlice.covered} rows under a cover`)
  await waitFor('Carol took the cover in place of the envelopes', () => rowsOf(carol, docId, me).covered >= KEYS, 30_000)
  const atCarol = rowsOf(carol, docId, me)
  console.log(`Alice's rows at Alice: ${JSON.stringify(atAlice)}; at Carol: ${JSON.stringify(atCarol)}`)
  assert.equal(await text(carol), typed, "Carol's text is as it was")

  const sentBefore = alice.stats().catchup.bytesSent + carol.stats().catchup.bytesSent
  const bob = await start(1, 'Bob')
  running.push(bob)
  const b = bob
  await waitFor('Bob caught up', async () => (await text(b)) === typed, 30_000)
  await bob.syncNow()
  const bytes = alice.stats().catchup.bytesSent + carol.stats().catchup.bytesSent - sentBefore
  const atBob = rowsOf(bob, docId, me)
  console.log(`Bob back: ${bytes} bytes of catch-up for ${KEYS} keys; Alice's rows at Bob: ${JSON.stringify(atBob)}`)
  // An envelope per key is about 430 bytes (130 KB for these); the cover is its 32-byte hashes and a small bundle.
  assert.ok(bytes < 40_000, `${bytes} bytes`)
  assert.ok(atBob.covered >= KEYS, "Bob keeps the cover's rows")
  assert.equal(bob.stats().catchup.rejected, 0)
})

it('a keeper takes a cover as a row per covered change, serves it, and knows the heads when a teammate builds inside it', {
  timeout: 120_000,
}, async () => {
  const start = (i: number, name: string): Promise<Peer> =>
    startPeer(dirs[i]!.path, { name, port: undefined, catchupIntervalMs: 600_000, covers: { idleMs: 300 } })
  let ana: Peer | undefined = await start(3, 'Ana')
  let carol: Peer | undefined = await start(4, 'Carol')
  let kim: Peer | undefined = await start(5, 'Kim')
  let ben: Peer | undefined = await start(6, 'Ben')
  running.push(ana, carol, kim, ben)
  const ws = await formWorkspace(ana, [carol, ben])
  const a = ana.connect()
  const invite = await a.request('workspace.invite', { workspaceId: ws, role: 'keeper', approve: false })
  await kim.connect().request('workspace.join', { code: invite.code })
  const docId = (await a.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start\n' })).id
  const text = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text
  const [k0, b0] = [kim, ben]
  await waitFor(
    'the document at Ben and at Kim',
    async () =>
      (await text(b0)) === 'start\n' && readDb(k0, (db) => db.prepare('SELECT 1 FROM documents WHERE id = ?').get(docId)) !== undefined,
  )
  await kim.stop()
  await ben.stop()

  // Typed with Carol connected, covered once Ana stops; the keeper was away.
  const replica = await openReplica(a, docId)
  const keys = 100
  for (let i = 0; i < keys; i++) await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, 'klmnopqrst'[i % 10]!))
  const typed = replica.text()
  replica.close()
  const [a1, c1] = [ana, carol]
  await waitFor('Carol holds it all', async () => (await text(c1)) === typed, 30_000)
  await waitFor('Ana covered her keys', () => a1.stats().covers.changes >= keys, 30_000)

  // The keeper comes back and catches up: the cover, as a row per covered change naming it.
  kim = await start(5, 'Kim')
  running.push(kim)
  const k = kim
  await k.syncNow()
  await waitFor('the cover at the keeper', () => rowsOf(k, docId, a1.device.deviceId).covered >= keys, 30_000)
  await ana.stop()
  await carol.stop()
  ana = undefined
  carol = undefined

  // Ben comes back with only the keeper there: he takes the cover from it.
  ben = await start(6, 'Ben')
  running.push(ben)
  const b = ben
  await b.node.dial(k.node.getMultiaddrs())
  await waitFor('Ana’s keys at Ben, through the keeper', async () => {
    await b.syncNow()
    return (await text(b)) === typed
  })
  // Ben builds on a key in the middle of the cover (as a window still on an older version would).
  const inner = readDb(k, (db) =>
    (
      db.prepare('SELECT hex(hash) AS h FROM changes WHERE cover IS NOT NULL ORDER BY seq LIMIT 1 OFFSET 50').get() as { h: string }
    ).h.toLowerCase(),
  )
  const bc = b.connect()
  const opened = await bc.request('doc.open', { docId })
  const mine = A.changeAt(A.load<{ text: string }>(opened.bytes, { actor: opened.actor }), [inner], (d) =>
    A.splice(d, ['text'], 0, 0, 'B'),
  ).newDoc
  await bc.request('doc.applyChanges', { docId, changes: [A.getLastLocalChange(mine)!] })
  const bensHeads = (await bc.request('doc.read', { docId })).heads
  assert.equal(bensHeads.length, 2, 'two heads: the last key and Ben’s change')
  await waitFor('Ben’s change at the keeper, and its heads as Ben’s', async () => {
    await k.settle()
    const heads = readDb(
      k,
      (db) => JSON.parse((db.prepare('SELECT heads FROM documents WHERE id = ?').get(docId) as { heads: string }).heads) as string[],
    )
    return JSON.stringify([...heads].sort()) === JSON.stringify([...bensHeads].sort())
  })
})

it('a peer that stops before its typing has paused covers its keys as it stops, and the teammate online takes the cover', {
  timeout: 120_000,
}, async () => {
  // The pause never comes here: only the stop covers.
  const { alice, carol, docId, typed, text } = await awayWhileTyped(
    dirs.slice(7, 10).map((d) => d.path),
    KEYS,
    { covers: { idleMs: 600_000 } },
    running,
  )
  const me = alice.device.deviceId
  assert.equal(alice.stats().covers.changes, 0, 'nothing covered before the stop')
  assert.deepEqual(rowsOf(alice, docId, me), { covered: 0, alone: KEYS + 1 })
  running.splice(running.indexOf(alice), 1)
  await alice.stop()
  assert.ok(rowsOf(alice, docId, me).covered >= KEYS, "Alice's own log: her keys under a cover after the stop")
  await waitFor('Carol took the cover in place of the envelopes', () => rowsOf(carol, docId, me).covered >= KEYS, 30_000)
  assert.equal(await text(carol), typed, "Carol's text is as it was")
})
