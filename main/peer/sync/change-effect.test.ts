/**
 * What a change does, counted from the decode it got on arrival (`opsEffect`), is what decoding it
 * again from the document says: for random keystrokes, deletions of runs, pastes and title edits; a
 * change that edits several objects (a new title string, text and title at once) is not known: decoded again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { seededRandom } from '../test/random.ts'
import { changeEffect, contentObjects, KnownEffects, opsEffect } from './change-effect.ts'

interface D {
  title: string
  text: string
}

test('a change counted from its decode on arrival counts as decoding it again does', () => {
  const rnd = seededRandom('change effect')
  let doc = A.change(A.init<D>(), (d) => {
    d.title = 'Notes'
    d.text = 'a first line\n'
  })
  let known = 0
  let several = 0
  for (let i = 0; i < 300; i++) {
    const kind = rnd.int(6)
    doc = A.change(doc, (d) => {
      const len = d.text.length
      if (kind === 0) A.splice(d, ['text'], rnd.int(len + 1), 0, rnd.text(1))
      else if (kind === 1 && len > 4) A.splice(d, ['text'], rnd.int(len - 3), rnd.between(1, 3))
      else if (kind === 2) A.splice(d, ['text'], rnd.int(len + 1), 0, rnd.text(rnd.between(20, 200)))
      else if (kind === 3) A.splice(d, ['title'], 0, 0, rnd.text(2))
      else if (kind === 4) {
        // Two objects in one change: the text and the title.
        A.splice(d, ['text'], 0, 0, 'x')
        A.splice(d, ['title'], 0, 0, 'y')
      } else d.title = `Title ${i}`
    })
    const bytes = A.getLastLocalChange(doc)!
    const e = opsEffect(A.decodeChange(bytes))
    const meta = A.getChangesMetaSince(doc, A.getHeads(doc)).at(0) ?? A.getChangesMetaSince(doc, []).at(-1)!
    const objs = contentObjects(doc)
    const decoded = changeEffect(doc, meta, objs)
    if (kind === 4) assert.equal(e, undefined, 'a change that edits two objects is not known')
    // A new title string is a new text object: a root key and the characters in it, two objects.
    if (!e) {
      assert.ok(kind === 4 || kind === 5, `change ${i} (kind ${kind}) edits one object`)
      several++
      continue
    }
    known++
    assert.deepEqual(changeEffect(doc, meta, objs, e), decoded, `change ${i} (kind ${kind}), seed=${rnd.seed}`)
  }
  assert.ok(known > 150 && several > 50, `both kinds were made (${known} known, ${several} of several objects)`)
})

test('the effects kept are bounded: the oldest are forgotten first, the latest half of the bound is always kept', () => {
  const kept = new KnownEffects(8)
  const e = { obj: '1@a', ops: 1, inserted: 1, deleted: 0, titleKey: false, first: null, last: null }
  for (let i = 0; i < 100; i++) {
    kept.add(`h${i}`, e)
    assert.ok(kept.size <= 8, `at most 8 kept (${kept.size} after ${i + 1})`)
    for (let j = Math.max(0, i - 3); j <= i; j++) assert.deepEqual(kept.get(`h${j}`), e, `h${j} kept after h${i}`)
  }
  assert.equal(kept.get('h0'), undefined)
  assert.equal(kept.get('h91'), undefined)
})
