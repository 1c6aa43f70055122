/**
 * Live runs (runs.ts `applyForRuns`, `sealForSending`) over a real SQLite file, without a network: a
 * client's keys typed within one frame leave as one run at once; what other clients, history and a
 * restart see of it; when they leave one by one instead (a costly apply, changes not made one after
 * another, no connection); and a burst Automerge cannot apply, refused whole.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { GrapevineError } from '../../../shared/protocol.ts'
import { tempDir } from '../test/helpers.ts'
import { documentsFixture } from './documents-fixture.ts'
import { isRejection, validateChange } from './change-validation.ts'
import type { DocumentsOptions } from './documents.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'

type Content = { title: string; text: string }

/** A document with one client typing into it, and what the peer published and showed other clients. */
async function setup(dir: string, opts: Partial<DocumentsOptions> = {}) {
  const fx = await documentsFixture(dir, opts)
  const ws = await fx.workspaces.create('W', 'me')
  const d = fx.docs()
  const row = await d.create(ws, 'T', 'hello')
  const published: SignedChange[][] = []
  const shown: { changes: Uint8Array[]; origin: unknown }[] = []
  d.on('local', (_ws, docId, items) => docId === row.id && published.push(items))
  d.on('changes', (docId, changes, origin) => docId === row.id && shown.push({ changes, origin }))
  let mine = A.load<Content>(d.hold(row.id).bytes, { actor: `${fx.device.actorPrefix}00112233aabbccdd` })
  /** Types `keys` at the end of the text, one change each, and sends them in one request. */
  const burst = async (keys: string): Promise<Uint8Array[]> => {
    const changes: Uint8Array[] = []
    for (const k of keys) {
      mine = A.change(mine, (x) => A.splice(x, ['text'], x.text.length, 0, k))
      changes.push(A.getLastLocalChange(mine)!)
    }
    await d.applyClientChanges(row.id, changes, 'window')
    return changes
  }
  /** How many changes each row of the document's log holds, oldest first. */
  const rows = (): number[] => fx.store.changesAfter(row.id, 0).map((r) => r.n)
  return { ...fx, ws, d, docId: row.id, published, shown, burst, rows, mine: () => mine }
}

test("a client's keys typed within one frame leave as one run: one envelope and one row, shown and counted one by one, the same after a restart", async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, keys, ws, d, docId, published, shown, burst, rows, mine, docs } = await setup(dir.path)
    const typed = await burst(' world')
    assert.deepEqual(
      published.at(-1)!.map((i) => i.n),
      [6],
      'one envelope for six keys',
    )
    assert.deepEqual(rows(), [1, 6], 'the creation, then one row for the six')
    // Other clients take changes, not bundles: the six, as the window made them; the window itself is not sent them.
    assert.equal(shown.length, 1)
    assert.deepEqual(shown[0]!.changes, typed)
    assert.equal(shown[0]!.origin, 'window')
    assert.deepEqual(d.heads(docId), A.getHeads(mine()))
    assert.equal(d.content(docId).text, 'hello world')
    // History counts each key from the decode it got here, without decoding the run again.
    for (const c of typed) assert.equal(d.effectOf(A.decodeChange(c).hash)?.inserted, 1)
    // A teammate takes the run as it is: signed once, sealed once, six changes chained.
    const v = validateChange(ws, docId, published.at(-1)![0]!, workspaces.judge(ws), keys.lookup(ws))
    assert.ok(!isRejection(v), isRejection(v) ? v.detail : '')
    assert.equal(v.n, 6)
    assert.equal(v.hash, A.getHeads(mine())[0])
    await d.close()
    const again = docs()
    assert.equal(again.content(docId).text, 'hello world')
    assert.deepEqual(again.heads(docId), A.getHeads(mine()))
    await again.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('after a costly apply a burst leaves one by one until the apply is timed again; changes not made one after another, or made with no connection, do not leave as a run', async () => {
  const dir = tempDir()
  try {
    // Each reading of this clock is `step` ms after the last: an apply between two readings "costs" `step`.
    let t = 0
    let step = 100
    const { store, device, d, docId, published, burst, rows } = await setup(dir.path, { now: () => (t += step) })
    await burst('abc')
    assert.deepEqual(rows(), [1, 3], 'the first burst is a run: nothing was timed before it')
    // It cost 100 ms by this clock (more than 5 ms a call, averaged with nothing before): the next burst leaves one by one.
    step = 1
    await burst('def')
    assert.deepEqual(rows(), [1, 3, 1, 1, 1])
    assert.deepEqual(
      published.at(-1)!.map((i) => i.n ?? 1),
      [1, 1, 1],
    )
    // Ten seconds later by that clock the apply is timed again, and cheap now.
    t += 10_000
    await burst('gh')
    assert.deepEqual(rows(), [1, 3, 1, 1, 1, 2])
    assert.equal(d.content(docId).text, 'helloabcdefgh')

    // Two sessions of this device typed concurrently: neither change builds on the other.
    const base = A.load<Content>(d.hold(docId).bytes)
    const one = A.change(A.clone(base, { actor: `${device.actorPrefix}0000000000000001` }), (x) => A.splice(x, ['text'], 0, 0, '1'))
    const two = A.change(A.clone(base, { actor: `${device.actorPrefix}0000000000000002` }), (x) => A.splice(x, ['text'], 0, 0, '2'))
    await d.applyClientChanges(docId, [A.getLastLocalChange(one)!, A.getLastLocalChange(two)!], null)
    assert.deepEqual(rows().slice(-2), [1, 1])
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }

  const offline = tempDir()
  try {
    // With no connection, changes are kept to leave as runs of the offline kind later (runs.ts `Runs.keep`), never published now.
    const { store, d, published, burst, rows } = await setup(offline.path, { online: () => false, sealIdleMs: 600_000 })
    await burst('xyz')
    assert.deepEqual(rows(), [1, 1, 1, 1])
    assert.equal(published.length, 0)
    await d.close()
    assert.deepEqual(rows(), [4], 'the creation and the keys, all made with no connection, sealed at the stop as one run')
    store.close()
  } finally {
    offline.remove()
  }
})

test('a burst with a change Automerge cannot apply is refused whole: nothing published, nothing stored, the document as it was', async () => {
  const dir = tempDir()
  try {
    const { store, d, docId, published, burst, rows, mine } = await setup(dir.path)
    // A copy: the window's own document goes on from before the refused request.
    let doc = A.clone(mine(), { actor: A.getActorId(mine()) })
    doc = A.change(doc, (x) => A.splice(x, ['text'], 5, 0, '!'))
    const good = A.getLastLocalChange(doc)!
    doc = A.change(doc, (x) => A.splice(x, ['text'], 6, 0, '?'))
    // The second decodes, its actor is this device's and its deps are held, but its op edits an object nobody made.
    const decoded = A.decodeChange(A.getLastLocalChange(doc)!)
    ;(decoded.ops[0] as { obj: string }).obj = `99@${'ab'.repeat(16)}`
    const bad = A.encodeChange(decoded)
    await assert.rejects(
      d.applyClientChanges(docId, [good, bad], null),
      (err: unknown) => err instanceof GrapevineError && err.code === 'bad-request' && /do not apply/.test(err.message),
    )
    assert.equal(published.length, 0, 'nothing published')
    assert.deepEqual(rows(), [1], 'nothing stored')
    assert.equal(d.content(docId).text, 'hello')
    // The window's next keys (after reopening) are taken as usual.
    await burst('!!')
    assert.equal(d.content(docId).text, 'hello!!')
    assert.deepEqual(rows(), [1, 2])
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})
