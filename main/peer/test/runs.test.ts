/**
 * Runs (sync/runs.ts) between real peers: what a device types with no connection leaves as one
 * sealed, signed run when a teammate appears, and the teammate stores and shows it as such; what is
 * typed while connected stays one change each, except keys typed within one frame (sent together),
 * which leave as one run at once; a keeper stores a run it cannot open and hands it to
 * a member it is never online with at the same time as the author, whose open editor gets its changes;
 * a run sealed at stop reloads.
 * (Runs that lie are refused in bad-gossip.test.ts.)
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { openReplica, type Replica } from './replica.ts'
import { storedChanges } from './sim/stored.ts'

describe('runs of changes typed with no connection', () => {
  const dirs: Dir[] = []
  let alice: Peer | undefined
  let bob: Peer | undefined
  let kim: Peer | undefined // a keeper
  let ws = ''
  let docId = ''
  let replica: Replica | undefined
  const A_ = () => alice!

  /** The rows of the document in a peer's change log: how many changes each holds (1, or a run's). */
  const rows = (p: Peer): { hash: string; n: number }[] =>
    storedChanges(p.dbPath)
      .filter((c) => c.docId === docId)
      .map((c) => ({ hash: c.hash, n: c.item.n ?? 1 }))

  const textAt = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text

  /** Types `count` keys at the end of the text, each its own change, each acknowledged. */
  async function type(count: number, tag: string): Promise<string> {
    for (let i = 0; i < count; i++) await replica!.edit((d) => A.splice(d, ['text'], d.text.length, 0, tag[i % tag.length]!))
    return replica!.text()
  }

  async function alone(p: Peer): Promise<void> {
    await waitFor('no connection left', () => p.node.getConnections().length === 0)
  }

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    alice = await startPeer(dirs[0]!.path, { name: 'Alice' })
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    kim = await startPeer(dirs[2]!.path, { name: 'Kim' })
    ws = await formWorkspace(alice, [bob])
    const ac = alice.connect()
    const invite = await ac.request('workspace.invite', { workspaceId: ws, role: 'keeper', approve: false })
    await kim.connect().request('workspace.join', { code: invite.code })
    docId = (await ac.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start\n' })).id
    const b = bob
    await waitFor('the document at Bob', async () => (await textAt(b)) === 'start\n')
    replica = await openReplica(ac, docId)
  })

  after(async () => {
    replica?.close()
    await stopAll([alice, bob, kim], dirs)
  })

  it('300 keys typed alone reach a teammate as one run, the same text, in a few KiB', async () => {
    await bob!.stop()
    bob = undefined
    await kim!.stop()
    kim = undefined
    await alone(A_())
    const before = rows(A_()).length
    const text = await type(300, 'offline typing ')
    const lastHash = A.getHeads(replica!.doc)[0]!
    // Sealed once typing pauses, before anyone comes back: one run (two if typing stalled on the way).
    const typed = await waitFor('the keys sealed as a run', () => {
      const r = rows(A_()).slice(before)
      return r.length > 0 && r.every((x) => x.n > 1) ? r : null
    })
    assert.ok(typed.length <= 2, `${typed.length} runs`)
    assert.equal(
      typed.reduce((n, r) => n + r.n, 0),
      300,
    )
    assert.equal(typed.at(-1)!.hash, lastHash, 'a run is named by its last change')
    const sent = A_().stats().catchup.bytesSent

    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    const b = bob
    await b.node.dial(A_().node.getMultiaddrs())
    await waitFor('the text at Bob', async () => {
      await b.syncNow()
      return (await textAt(b)) === text
    })
    // Bob stores the runs as they came, a row each.
    assert.deepEqual(rows(b).slice(-typed.length), typed)
    const changes = (p: Peer): number => rows(p).reduce((n, r) => n + r.n, 0)
    assert.equal(changes(b), changes(A_()), 'both hold the same changes')
    // 300 changes one by one cost about 300 bytes each on the wire (a signature, a sealed box, hashes).
    const bytes = A_().stats().catchup.bytesSent - sent
    assert.ok(bytes < 8 * 1024, `catch-up sent ${bytes} bytes for the run`)
  })

  it('keys typed while a teammate is connected stay one change each', async () => {
    const b = bob!
    const before = rows(A_()).length
    const text = await type(5, 'live!')
    await waitFor('the live keys at Bob', async () => (await textAt(b)) === text)
    const typed = rows(A_()).slice(before)
    assert.equal(typed.length, 5)
    assert.ok(typed.every((r) => r.n === 1))
    await waitFor(
      'the five rows at Bob',
      () =>
        rows(b)
          .slice(-5)
          .every((r) => r.n === 1) && rows(b).length === rows(A_()).length,
    )
  })

  it('keys typed within one frame while a teammate is connected leave as one run, and arrive as one', async () => {
    const b = bob!
    const bobsEditor = await openReplica(b.connect(), docId)
    try {
      const before = rows(A_()).length
      const headsBefore = A.getHeads(replica!.doc)
      const burst = 'a burst of keys typed in one frame'
      await replica!.burst([...burst].map((ch) => (d) => A.splice(d, ['text'], d.text.length, 0, ch)))
      const text = replica!.text()
      const typed = rows(A_()).slice(before)
      assert.deepEqual(
        typed.map((r) => r.n),
        [burst.length],
        'one row, holding every key',
      )
      assert.equal(typed[0]!.hash, A.getHeads(replica!.doc)[0], 'named by its last change')
      await waitFor('the burst at Bob', async () => (await textAt(b)) === text)
      // Bob stores it as it came: one row, and none for the changes inside it. (He shows a teammate's
      // changes before their commit: the row may come a moment after the text.)
      const atBob = await waitFor('the run stored at Bob', () => {
        const r = rows(b)
        return r.some((x) => x.hash === typed[0]!.hash) ? r : null
      })
      assert.deepEqual(
        atBob.find((r) => r.hash === typed[0]!.hash),
        typed[0],
      )
      const inside = new Set(A.getChangesMetaSince(replica!.doc, headsBefore).map((m) => m.hash))
      assert.ok(!atBob.some((r) => r.hash !== typed[0]!.hash && inside.has(r.hash)), 'no row for a change inside the run')
      // His editor takes changes: the run's reach it one by one.
      await bobsEditor.until((d) => d.text === text)
      // One signature and one sealed box for all of them (Automerge's compressed columns), where each key alone takes about 100 bytes sealed.
      const sealed = storedChanges(A_().dbPath).at(-1)!.item.c.byteLength
      assert.ok(sealed < 600, `${sealed} bytes sealed for ${burst.length} keys`)
    } finally {
      bobsEditor.close()
    }
  })

  it('a keeper stores a run it cannot open and hands it to a member never online with its author', async () => {
    await bob!.stop()
    bob = undefined
    await alone(A_())
    const text = await type(50, 'for the keeper ')
    kim = await startPeer(dirs[2]!.path, { name: 'Kim' })
    const k = kim
    await k.node.dial(A_().node.getMultiaddrs())
    const head = A.getHeads(replica!.doc)[0]
    const last = await waitFor('the keys sealed as a run', () => rows(A_()).find((r) => r.hash === head && r.n > 1))
    await waitFor('the run at the keeper', async () => {
      await k.syncNow()
      return rows(k).some((r) => r.hash === last.hash && r.n === last.n)
    })
    assert.equal(k.keys.current(ws), null, 'the keeper holds no content key')
    await k.settle()
    await alice!.stop()
    alice = undefined
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    const b = bob
    // Bob has the document open: the run's changes reach his editor as changes, like any others.
    const bobsEditor = await openReplica(b.connect(), docId)
    try {
      await b.node.dial(k.node.getMultiaddrs())
      await waitFor('the text at Bob, through the keeper', async () => {
        await b.syncNow()
        return (await textAt(b)) === text
      })
      await bobsEditor.until((d) => d.text === text)
    } finally {
      bobsEditor.close()
    }
    assert.deepEqual(rows(b).at(-1), last)
  })

  it('a run sealed when its author stops reloads as the same text', async () => {
    replica?.close()
    replica = undefined
    await bob!.stop()
    bob = undefined
    await kim!.stop()
    kim = undefined
    // Sealed only by the stop: typing never pauses long enough here.
    alice = await startPeer(dirs[0]!.path, { name: 'Alice', runSealIdleMs: 600_000 })
    await alone(A_())
    replica = await openReplica(A_().connect(), docId)
    const before = rows(A_()).length
    const text = await type(20, 'before a stop ')
    replica.close()
    replica = undefined
    assert.ok(
      rows(A_())
        .slice(before)
        .every((r) => r.n === 1),
      'not sealed before the stop',
    )
    await alice.stop()
    alice = await startPeer(dirs[0]!.path, { name: 'Alice' })
    assert.deepEqual(
      rows(A_())
        .slice(before)
        .map((r) => r.n),
      [20],
    )
    assert.equal(await textAt(A_()), text)
  })
})
