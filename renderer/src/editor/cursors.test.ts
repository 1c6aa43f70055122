import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { fromCursors, toCursors } from './cursors.ts'

test('a selection stays on its characters while others type before it, and the end stays the end', () => {
  let mine = A.from({ text: 'the quick fox' }, { actor: 'aa'.repeat(16) })
  let theirs = A.clone(mine, { actor: 'bb'.repeat(16) })
  const sel = toCursors(theirs, { anchor: 4, head: 9 })!
  const end = toCursors(theirs, { anchor: 13, head: 13 })!
  theirs = A.change(theirs, (d) => A.splice(d, ['text'], 0, 0, 'see: '))
  mine = A.merge(mine, theirs)
  mine = A.change(mine, (d) => A.splice(d, ['text'], mine.text.length, 0, '!'))
  const at = fromCursors(mine, sel)!
  assert.equal(mine.text.slice(at.anchor, at.head), 'quick')
  const e = fromCursors(mine, end)!
  assert.equal(e.head, mine.text.length)
})

test('out-of-range selections are clamped; unknown cursors resolve to nothing', () => {
  const doc = A.from({ text: 'abc' })
  const c = toCursors(doc, { anchor: -5, head: 99 })!
  assert.deepEqual(fromCursors(doc, c), { anchor: 0, head: 3 })
  assert.equal(fromCursors(doc, { anchor: `9@${'cc'.repeat(16)}`, head: 'e' }), null)
  assert.equal(toCursors(A.from({ title: 'no text' }), { anchor: 0, head: 0 }), null)
})
