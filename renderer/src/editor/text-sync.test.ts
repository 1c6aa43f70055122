import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChangeSet, Text } from '@codemirror/state'
import { seededRandom } from '../../../main/peer/test/random.ts'
import { type SyncEdit, TextSync } from './text-sync.ts'

const text = (s: string): Text => Text.of(s.split('\n'))

interface Side {
  sync: TextSync
  doc: Text
  /** Messages on their way to the other side, in order. */
  out: SyncEdit[]
}

function side(kind: 'window' | 'worker', start: string): Side {
  return { sync: new TextSync(kind), doc: text(start), out: [] }
}

function edit(s: Side, spec: { from: number; to?: number; insert?: string }): void {
  const cs = ChangeSet.of(spec, s.doc.length)
  s.doc = cs.apply(s.doc)
  s.out.push(s.sync.local(cs))
}

function deliver(from: Side, to: Side): void {
  const m = from.out.shift()
  if (!m) return
  to.doc = to.sync.receive(m, to.doc.length).apply(to.doc)
}

test('concurrent edits on both sides converge, with any interleaving of the two ordered channels (seeded)', () => {
  const rnd = seededRandom('text sync')
  for (let trial = 0; trial < 300; trial++) {
    const w = side('window', rnd.text(rnd.int(20)))
    const k = side('worker', w.doc.toString())
    for (let step = 0; step < 60; step++) {
      const s = rnd.pick([w, k])
      const r = rnd.int(10)
      if (r < 5) {
        const at = rnd.int(s.doc.length + 1)
        const to = rnd.int(3) === 0 ? Math.min(s.doc.length, at + rnd.int(4)) : at
        edit(s, { from: at, to, insert: rnd.int(4) === 0 ? '' : rnd.text(1 + rnd.int(3)) })
      } else if (r < 7) deliver(w, k)
      else deliver(k, w)
    }
    while (w.out.length || k.out.length) {
      if (rnd.int(2)) deliver(w, k)
      else deliver(k, w)
    }
    assert.equal(w.doc.toString(), k.doc.toString(), `trial ${trial} (seed ${rnd.seed})`)
  }
})

test('where both sides insert at one position, the window text goes first on both', () => {
  const w = side('window', 'ab')
  const k = side('worker', 'ab')
  edit(w, { from: 1, insert: 'W' })
  edit(k, { from: 1, insert: 'K' })
  deliver(w, k)
  deliver(k, w)
  assert.equal(w.doc.toString(), 'aWKb')
  assert.equal(k.doc.toString(), 'aWKb')
})

test('a position sent by one side lands on the same character on the other, across edits in flight', () => {
  const w = side('window', 'hello world')
  const k = side('worker', 'hello world')
  // The worker points at "world" (6) after its own edit; meanwhile the window inserted before it.
  edit(k, { from: 0, insert: '>> ' })
  const pos = 9
  const seen = k.sync.seen()
  edit(w, { from: 0, to: 5, insert: 'goodbye' })
  deliver(k, w)
  const here = w.sync.mapPos(pos, seen)
  assert.equal(w.doc.sliceString(here, here + 5), 'world')
})

test('a message that does not fit is refused, not applied', () => {
  const w = side('window', 'abc')
  assert.throws(() => w.sync.receive({ changes: ChangeSet.of({ from: 0, insert: 'x' }, 10).toJSON(), seen: 0 }, 3), /10 characters/)
  assert.throws(() => w.sync.receive({ changes: ChangeSet.of({ from: 0, insert: 'x' }, 3).toJSON(), seen: 5 }, 3), /acknowledges 5/)
  assert.throws(() => w.sync.receive({ changes: 'nonsense', seen: 0 }, 3))
})
