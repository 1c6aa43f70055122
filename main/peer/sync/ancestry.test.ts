/**
 * What a side that knows less sends (Documents.missingFor with have-sets, ancestry.ts), over a real
 * SQLite file: heads it does not know make it send nothing rather than its whole history; with the
 * other side's base and have-set it sends exactly the changes outside them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { tempDir } from '../test/helpers.ts'
import { setText } from './doc-content.ts'
import { documentsFixture } from './documents-fixture.ts'
import { HAVE_DIGEST_BYTES, HaveSet, haveOf, MAX_HAVE } from './ancestry.ts'

const unknown = (): string => randomBytes(32).toString('hex')

test('missingFor: unknown heads send nothing without a have-set, and exactly the rest with one', async () => {
  const dir = tempDir()
  try {
    const f = await documentsFixture(dir.path)
    const { store, workspaces } = f
    const docs = f.docs()
    const ws = await workspaces.create('W', 'me')
    const row = await docs.create(ws, 'T', '')
    let text = ''
    for (let i = 0; i < 10; i++) {
      text += `${i}`
      await docs.edit(row.id, (d) => setText(d, text))
    }
    // One line of history: c[0] (the creation) … c[10].
    const c = store.changesAfter(row.id, 0).map((r) => r.hash)
    assert.equal(c.length, 11)
    const sent = (heads: string[], have?: HaveSet): string[] => docs.missingFor(row.id, heads, have).map((r) => r.hash)

    // Known heads: what is not in their past; none: everything.
    assert.deepEqual(sent([c[5]!]), c.slice(6))
    assert.deepEqual(sent([]), c)
    // They hold c[0..5] and three changes of their own: this side knows less, and cannot tell what they hold.
    const theirs = [unknown(), unknown(), unknown()]
    assert.deepEqual(sent([theirs[2]!]), [], 'not the whole history')
    // With their base (c[5], which both hold) and a have-set of what they hold beyond it: exactly c[6..10].
    assert.deepEqual(sent([theirs[2]!, c[5]!], new HaveSet(haveOf(theirs))), c.slice(6))
    // A stale base: they got c[6] and c[7] from a third peer since; their have-set names them.
    assert.deepEqual(sent([theirs[2]!, c[5]!], new HaveSet(haveOf([c[6]!, c[7]!, ...theirs]))), c.slice(8))
    // No base at all (say, the document reached both from a third peer): the have-set names all they hold.
    assert.deepEqual(sent([theirs[2]!], new HaveSet(haveOf([...c.slice(0, 4), ...theirs]))), c.slice(4))
    await docs.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a have-set names exactly its changes, under a fresh salt each time, and refuses a malformed one', () => {
  const named = Array.from({ length: 10_000 }, unknown)
  const others = Array.from({ length: 10_000 }, unknown)
  const wire = haveOf(named)
  assert.equal(wire.d.byteLength, named.length * HAVE_DIGEST_BYTES)
  const set = new HaveSet(wire)
  assert.ok(named.every((h) => set.has(h)))
  assert.ok(!others.some((h) => set.has(h)))
  // The same changes under another salt: other digests.
  const again = haveOf(named)
  assert.notDeepEqual(Buffer.from(again.s), Buffer.from(wire.s))
  assert.notDeepEqual(Buffer.from(again.d), Buffer.from(wire.d))
  // At most MAX_HAVE, the last ones.
  const many = Array.from({ length: MAX_HAVE + 5 }, (_, i) => i.toString(16).padStart(64, '0'))
  const capped = new HaveSet(haveOf(many))
  assert.equal(capped.size, MAX_HAVE)
  assert.ok(!capped.has(many[0]!) && capped.has(many.at(-1)!))
  assert.throws(() => new HaveSet({ s: new Uint8Array(4), d: new Uint8Array(8) }), /salt/)
  assert.throws(() => new HaveSet({ s: new Uint8Array(8), d: new Uint8Array(7) }), /at most/)
})
