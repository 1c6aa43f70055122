/**
 * Runs (runs.ts): which unsent changes form a run, and a run in a document's log over a real SQLite
 * file: it takes the place of its changes in one commit, counts as they did, and reloads the same.
 */
import { test } from 'node:test'
import * as A from '@automerge/automerge'
import assert from 'node:assert/strict'
import { tempDir } from '../test/helpers.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import { setText } from './doc-content.ts'
import { documentsFixture } from './documents-fixture.ts'
import { chainsOf, type UnsentChange } from './runs.ts'

const change = (hash: string, deps: string[], epoch = 'e1', m = ['m1']): UnsentChange => ({ hash, deps, epoch, m, actor: 'a', time: 0 })
const hashesOf = (chains: UnsentChange[][]): string[][] => chains.map((c) => c.map((x) => x.hash))

test('chainsOf: a run is a chain under one epoch and one membership state, cut where anything else names its inside', () => {
  // A straight chain.
  assert.deepEqual(hashesOf(chainsOf([change('a', ['x']), change('b', ['a']), change('c', ['b'])], 100)), [['a', 'b', 'c']])
  // A change with two deps (a merge) starts a new chain; so does one building on something else.
  assert.deepEqual(hashesOf(chainsOf([change('a', ['x']), change('b', ['a', 'y']), change('c', ['b']), change('d', ['z'])], 100)), [
    ['a'],
    ['b', 'c'],
    ['d'],
  ])
  // Another epoch or another membership state: a new chain.
  assert.deepEqual(hashesOf(chainsOf([change('a', ['x']), change('b', ['a'], 'e2'), change('c', ['b'], 'e2', ['m2'])], 100)), [
    ['a'],
    ['b'],
    ['c'],
  ])
  // `a` is named by `b` and by `c` (two windows built on it): it ends its chain, and nothing after it
  // may hold `a` inside a run that another change names.
  assert.deepEqual(hashesOf(chainsOf([change('a', ['x']), change('b', ['a']), change('c', ['a']), change('d', ['c'])], 100)), [
    ['a'],
    ['b'],
    ['c', 'd'],
  ])
  // At most `maxChanges` long.
  const long = Array.from({ length: 7 }, (_, i) => change(`h${i}`, [i === 0 ? 'x' : `h${i - 1}`]))
  assert.deepEqual(
    chainsOf(long, 3).map((c) => c.length),
    [3, 3, 1],
  )
})

test('a run takes the place of its changes in the log, leaves before the change that builds on it, counts as they did, and reloads the same', async () => {
  const dir = tempDir()
  try {
    let online = false
    const { store, workspaces, docs } = await documentsFixture(dir.path, {
      snapshotEvery: 1000,
      online: () => online,
      sealIdleMs: 600_000, // sealed below, by hand
    })
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const published: SignedChange[] = []
    d.on('local', (_ws, _doc, items) => published.push(...items))
    const row = await d.create(ws, 'Offline', '')
    let text = ''
    for (let i = 0; i < 40; i++) {
      text += String.fromCharCode(97 + (i % 26))
      await d.edit(row.id, (c) => setText(c, text))
    }
    assert.equal(published.length, 0, 'nothing is published while nothing could hear it')
    const singles = store.changesAfter(row.id, 0)
    assert.equal(singles.length, 41)
    // A connection appears, and the next edit is published: what was made before leaves first, as a run.
    online = true
    await d.edit(row.id, (c) => setText(c, `${text}!`))
    const after = store.changesAfter(row.id, 0)
    assert.equal(
      after.length,
      2,
      'one row holds the whole chain (the document was made by the same device, offline too), one the new change',
    )
    assert.equal(after[0]!.n, 41)
    assert.equal(after[0]!.hash, singles.at(-1)!.hash)
    assert.deepEqual(after[0]!.deps, singles[0]!.deps)
    assert.equal(after[0]!.seq, singles.at(-1)!.seq, 'at the place of its last change in the log')
    assert.equal(after[1]!.n, 1)
    assert.deepEqual(after[1]!.deps, [after[0]!.hash], 'the new change builds on the run')
    assert.equal(store.countChangesAfter(row.id, 0), 42, 'a run counts the changes it holds')
    assert.deepEqual(
      published.map((p) => p.n ?? 1),
      [41, 1],
      'the run, then the change',
    )
    // A second Documents (as after a restart, with no snapshot taken) reads the run back.
    assert.equal(docs().content(row.id).text, `${text}!`)
    store.close()
  } finally {
    dir.remove()
  }
})

test("what a teammate lacks is found from the log's own deps when the log is runs and changes, and is what Automerge's answer gives", async () => {
  const dir = tempDir()
  try {
    let online = false
    const { store, workspaces, docs } = await documentsFixture(dir.path, { snapshotEvery: 1000, online: () => online, sealIdleMs: 600_000 })
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const row = await d.create(ws, 'Mixed', '')
    let text = ''
    const type = async (keys: number): Promise<void> => {
      for (let i = 0; i < keys; i++) {
        text += String.fromCharCode(97 + (text.length % 26))
        await d.edit(row.id, (c) => setText(c, text))
      }
    }
    // Alone (a run when a connection appears), connected (one row each), alone again, connected again.
    await type(30)
    online = true
    await type(5)
    online = false
    await type(20)
    online = true
    await type(2)
    const rows = store.changesAfter(row.id, 0)
    assert.ok(rows.some((r) => r.n > 1) && rows.some((r) => r.n === 1), `runs and single changes: ${rows.map((r) => r.n)}`)
    const rowHashes = new Set(rows.map((r) => r.hash))
    const doc = d.automerge(row.id)
    const inner = A.getChangesMetaSince(doc, [])
      .map((m) => m.hash)
      .filter((h) => !rowHashes.has(h))
    assert.ok(inner.length > 40, 'changes inside runs have no row')
    const asked: string[][] = []
    const getChanges = store.getChanges.bind(store)
    store.getChanges = (docId, hashes) => {
      asked.push(hashes)
      return getChanges(docId, hashes)
    }
    const byAutomerge = (heads: string[]): string[] =>
      getChanges(
        row.id,
        A.getChangesMetaSince(doc, heads).map((m) => m.hash),
      ).map((r) => r.hash)
    for (const heads of [...rows.map((r) => [r.hash]), [inner[3]!], [inner.at(-1)!]]) {
      asked.length = 0
      const got = d.missingFor(row.id, heads).map((r) => r.hash)
      assert.deepEqual([...got].sort(), byAutomerge(heads).sort(), `beyond ${heads[0]!.slice(0, 8)}`)
      // Each row after the rows it builds on (or that the teammate holds).
      const before = new Set(A.getChangesMetaSince(doc, []).map((m) => m.hash))
      for (const h of byAutomerge(heads)) before.delete(h)
      for (const h of got) {
        for (const dep of rows.find((r) => r.hash === h)!.deps!) assert.ok(before.has(dep) || got.indexOf(dep) < got.indexOf(h))
        before.add(h)
      }
      // A head that is a row: found from the rows (Automerge's answer names the changes inside runs too).
      // A head inside a run: Automerge answers, and changes inside the run beyond it are asked for.
      const throughRows = asked.flat().every((h) => rowHashes.has(h))
      if (rowHashes.has(heads[0]!)) assert.ok(throughRows, `from the rows' deps (${heads[0]!.slice(0, 8)})`)
      if (heads[0] === inner[3]) assert.ok(!throughRows, 'a head inside a run: from Automerge')
    }
    store.close()
  } finally {
    dir.remove()
  }
})
