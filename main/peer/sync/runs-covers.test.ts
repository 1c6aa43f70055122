/**
 * Where runs (runs.ts) meet covers (covers.ts, own-covers.ts), over a real SQLite file. A change of this
 * device kept to leave in a run (typed with no connection) never goes under a cover: covered, it would leave
 * alone first, and a teammate would hold the run's last change as the cover's row without the rest of the
 * run (convergence seed 1928512763 failed so, about one run in two). A cover whose changes a run took
 * meanwhile is neither stored nor sent. And a reader that holds a change alone (sent alone, or a cover's row)
 * and then takes a run ending in it (an older version's author, or a lying one, sends both) stores the run in
 * its place: what its document shows stays in its log, after a restart too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { tempDir } from '../test/helpers.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import { isRejection, sealChange, sealCover, sealRun, validateChange, type ValidChange } from './change-validation.ts'
import { setText } from './doc-content.ts'
import { documentsFixture } from './documents-fixture.ts'
import { OwnCovers } from './own-covers.ts'

type Content = { title: string; text: string }

test('changes kept to leave in a run stay out of a cover made meanwhile: the cover takes what left alone, the run the rest, and the log holds each change once', async () => {
  const dir = tempDir()
  try {
    let online = true
    const { store, workspaces, docs } = await documentsFixture(dir.path, {
      online: () => online,
      sealIdleMs: 600_000, // sealed by the edit made once a connection is back
      covers: { idleMs: 600_000, min: 2 }, // covered by coverWaiting below
    })
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const published: SignedChange[] = []
    d.on('local', (_ws, _doc, items) => published.push(...items))
    const row = await d.create(ws, 'Doc', '')
    let text = ''
    const type = async (keys: number): Promise<string[]> => {
      const made: string[] = []
      for (let i = 0; i < keys; i++) {
        text += String.fromCharCode(97 + (text.length % 26))
        made.push(...(await d.edit(row.id, (c) => setText(c, text))))
      }
      return made
    }
    const alone = await type(4) // each leaves as it is made: the cover's, once typing pauses
    online = false
    const kept = await type(3) // nobody could hear: kept, to leave as one run
    assert.equal(published.filter((p) => p.k === undefined).length, published.length, 'no cover yet')
    await d.coverWaiting() // the pause comes while they are still kept
    const covers = published.filter((p) => p.k !== undefined)
    assert.equal(covers.length, 1, 'one cover')
    const coveredRows = store.changesAfter(row.id, 0).filter((r) => r.cover !== null)
    const covered = new Set(coveredRows.map((r) => r.hash))
    for (const h of alone) assert.ok(covered.has(h), `a key that left alone is covered (${h.slice(0, 8)})`)
    for (const h of kept) assert.ok(!covered.has(h), `a kept key is not (${h.slice(0, 8)})`)
    assert.equal(covers[0]!.n, covered.size, 'the cover sent holds what the log put under it')

    online = true
    await type(1) // a connection: the kept keys leave first, as one run
    const rows = store.changesAfter(row.id, 0)
    const run = rows.find((r) => r.n > 1)
    assert.ok(run, `a run: ${rows.map((r) => r.n)}`)
    assert.equal(run.n, kept.length)
    assert.equal(run.hash, kept.at(-1))
    assert.equal(run.cover, null)
    assert.deepEqual(published.filter((p) => p.n === kept.length && p.k === undefined).length, 1, 'the run is sent, as a run')
    // Every change of the document is held once: by its own row, a cover's row, or the run.
    const held = rows.flatMap((r) => (r.n > 1 ? kept : [r.hash]))
    assert.equal(new Set(held).size, held.length, 'none twice')
    assert.deepEqual(new Set(held), new Set(A.getChangesMetaSince(d.automerge(row.id), []).map((m) => m.hash)))
    await d.close()
    assert.equal(docs().content(row.id).text, text, 'and it loads the same')
    store.close()
  } finally {
    dir.remove()
  }
})

test('a cover whose changes a run took since they were read is neither stored nor sent', async () => {
  const dir = tempDir()
  try {
    const { store, device, keys, workspaces, docs } = await documentsFixture(dir.path)
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const row = await d.create(ws, 'Doc', '')
    for (const t of ['a', 'ab', 'abc', 'abcd', 'abcde']) await d.edit(row.id, (c) => setText(c, t))
    const doc = d.automerge(row.id)
    const before = store.changesAfter(row.id, 0)
    const last3 = before.slice(-3)
    const published: SignedChange[] = []
    const warned: string[] = []
    const covers = new OwnCovers(
      {
        store,
        device,
        keys,
        cache: { load: () => ({ doc }) as never },
        canWrite: () => true,
        kept: () => new Set(),
        publish: (_ws, _doc, items) => published.push(...items),
        log: (_level, m) => warned.push(m),
      },
      { min: 2 },
    )
    // A sealing that began first (runs.ts `Runs.seal` takes the changes at once and commits later): its
    // write is queued before the cover's, which reads the rows before either runs.
    const sealing = store.write(() =>
      store.replaceWithRun(
        row.id,
        last3.map((r) => r.hash),
        { ...last3.at(-1)!, deps: last3[0]!.deps, n: 3 },
        Date.now(),
      ),
    )
    assert.equal(await covers.cover(ws, row.id), 0, 'nothing covered')
    await sealing
    assert.equal(published.length, 0, 'nothing sent')
    assert.match(warned.join('\n'), /no longer each alone in the log; not covered/)
    const after = store.changesAfter(row.id, 0)
    assert.ok(
      after.every((r) => r.cover === null),
      'no row names a cover',
    )
    assert.deepEqual(
      after.map((r) => r.n),
      [...before.slice(0, -3).map(() => 1), 3],
    )
    // With nothing in the way, the same covers what is alone.
    assert.ok((await covers.cover(ws, row.id)) >= 2)
    assert.equal(published.length, 1)
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a run whose last change a reader holds alone (sent alone, or a cover row) takes that row: the log keeps what the document shows, after a restart too', async () => {
  const dir = tempDir()
  try {
    const fx = await documentsFixture(dir.path)
    const ws = await fx.workspaces.create('W', 'me')
    const d = fx.docs()
    let sessions = 0
    const session = (): string => `${fx.device.actorPrefix}${(++sessions).toString(16).padStart(16, '0')}`
    const checked = (item: SignedChange, docId: string): ValidChange => {
      const v = validateChange(ws, docId, item, fx.workspaces.judge(ws), fx.keys.lookup(ws))
      assert.ok(!isRejection(v), isRejection(v) ? v.detail : '')
      return v
    }
    /**
     * On a new document: another session of this device (as a teammate's device) types `x` on the first text
     * and, apart, three keys in a chain; the chain's run and its last key alone, or a cover of `x` and that key.
     */
    const made = async (title: string) => {
      const docId = (await d.create(ws, title, 'hello')).id
      const base = A.load<Content>(d.hold(docId).bytes)
      d.release(docId)
      const x = A.change(A.clone(base, { actor: session() }), (c) => A.splice(c, ['text'], 0, 0, 'x'))
      let chain = A.clone(base, { actor: session() })
      for (const k of ['1', '2', '3']) chain = A.change(chain, (c) => A.splice(c, ['text'], 5, 0, k))
      const keys = A.getChanges(base, chain).map((c) => A.decodeChange(c))
      const [full] = A.applyChanges(A.clone(chain), [A.getLastLocalChange(x)!])
      const key = fx.keys.current(ws)!
      const m = fx.workspaces.heads(ws)
      const last = keys.at(-1)!
      const run = sealRun(
        fx.device,
        key,
        ws,
        docId,
        {
          bundle: A.saveBundle(
            full,
            keys.map((k) => k.hash!),
          ),
          hashes: keys.map((k) => k.hash!),
          deps: keys[0]!.deps,
          actor: last.actor,
          time: last.time,
          empty: false,
        },
        m,
      ).item
      const lastAlone = sealChange(fx.device, key, ws, docId, A.encodeChange(last), m).item
      const bundle = A.saveBundle(full, [A.decodeChange(A.getLastLocalChange(x)!).hash!, last.hash!])
      // A cover names its changes in the order its bundle holds them.
      const cover = sealCover(
        fx.device,
        key,
        ws,
        docId,
        {
          bundle,
          changes: A.readBundle(bundle).changes.map((k) => ({ hash: k.hash, deps: k.deps })),
          actor: last.actor,
          time: last.time,
          empty: false,
        },
        m,
      ).item
      return { docId, withX: full.text, withoutX: chain.text, last: last.hash!, run, lastAlone, cover }
    }
    const made1 = await made('Alone, then the run')
    const made2 = await made('A cover, then the run')
    const first = { ...made1, text: made1.withoutX }
    const second = { ...made2, text: made2.withX }
    await d.ingest(ws, first.docId, [checked(first.lastAlone, first.docId)])
    await d.ingest(ws, second.docId, [checked(second.cover, second.docId)])
    await d.settle()
    assert.equal(d.content(second.docId).text, 'xhello', "the cover's key that builds on nothing missing is in")
    for (const t of [first, second]) {
      await d.ingest(ws, t.docId, [checked(t.run, t.docId)])
      await d.settle()
      assert.equal(d.content(t.docId).text, t.text, 'the run brings the rest')
      await fx.store.write(() => undefined)
      const rows = fx.store.changesAfter(t.docId, 0)
      const at = rows.find((r) => r.hash === t.last)!
      assert.equal(at.n, 3, 'the run took the place of the row of its last change')
      assert.equal(at.cover, null)
      assert.equal(at.seq, Math.max(...rows.map((r) => r.seq)), 'at the end of the log')
    }
    await d.close()
    const again = fx.docs()
    for (const t of [first, second]) assert.equal(again.content(t.docId).text, t.text, 'the same after a restart')
    // The run again, and the change alone again: nothing moves.
    const seqs = fx.store.changesAfter(first.docId, 0).map((r) => `${r.seq}:${r.n}`)
    await again.ingest(ws, first.docId, [checked(first.run, first.docId), checked(first.lastAlone, first.docId)])
    await again.settle()
    await fx.store.write(() => undefined)
    assert.deepEqual(
      fx.store.changesAfter(first.docId, 0).map((r) => `${r.seq}:${r.n}`),
      seqs,
    )
    await again.close()
    fx.store.close()
  } finally {
    dir.remove()
  }
})
