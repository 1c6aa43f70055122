import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { lineMarks, versionMarks, type VersionMarks } from './version-marks.ts'

/** The text now, rebuilt from the old one and its marks: what is removed left out, what is added put in. */
function apply(old: string, m: VersionMarks): string {
  let out = ''
  let pos = 0
  const removed = [...m.removed]
  const added = [...m.added]
  const cut = (to: number): void => {
    while (pos < to) {
      const r = removed[0]
      if (r && r[0] <= pos) {
        pos = Math.max(pos, r[1])
        removed.shift()
        continue
      }
      const next = Math.min(to, r ? r[0] : to)
      out += old.slice(pos, next)
      pos = next
    }
  }
  for (const a of added) {
    cut(a.at)
    out += a.text
  }
  cut(old.length)
  return out
}

type D = { text: string; title: string }

/** A small seeded source (mulberry32): the test prints its seed, and GRAPEVINE_SEED replays it. */
function seeded(): { seed: number; next(): number; int(n: number): number; text(n: number): string } {
  const seed = Number(process.env['GRAPEVINE_SEED'] ?? Math.floor(Math.random() * 2 ** 32))
  console.log(`seed=${seed} (version marks; replay with GRAPEVINE_SEED=${seed})`)
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  const text = (n: number): string => Array.from({ length: n }, () => 'abcdefgh ij\n'[int(12)]).join('')
  return { seed, next, int, text }
}

test('the marks of an old version, applied to it, give the text now (seeded random edits, concurrent ones too)', () => {
  const rnd = seeded()
  for (let trial = 0; trial < 300; trial++) {
    let a = A.from<D>({ title: 't', text: rnd.text(rnd.int(40)) })
    for (let i = rnd.int(5); i > 0; i--)
      a = A.change(a, (d) => A.splice(d, ['text'], rnd.int(d.text.length + 1), 0, rnd.text(1 + rnd.int(6))))
    const old = A.getHeads(a)
    const oldText = a.text
    let b = A.clone(a)
    const edit = (doc: A.Doc<D>): A.Doc<D> =>
      A.change(doc, (d) => {
        const at = rnd.int(d.text.length + 1)
        if (rnd.next() < 0.5 && d.text.length)
          A.splice(d, ['text'], Math.min(at, d.text.length - 1), 1 + rnd.int(Math.min(8, d.text.length - Math.min(at, d.text.length - 1))))
        else A.splice(d, ['text'], at, 0, rnd.text(1 + rnd.int(10)))
        if (rnd.next() < 0.1) d.title = rnd.text(3)
      })
    for (let i = rnd.int(12); i > 0; i--) a = edit(a)
    for (let i = rnd.int(6); i > 0; i--) b = edit(b)
    a = A.merge(a, b)
    const marks = versionMarks(oldText.length, A.diff(a, old, A.getHeads(a)))
    assert.equal(apply(oldText, marks), a.text, `trial ${trial} (seed ${rnd.seed}): from ${JSON.stringify(oldText)}`)
    // On the text now: what is outside the inserted ranges is what the old text kept, in order.
    let kept = ''
    let at = 0
    for (const [from, to] of marks.inserted) {
      assert.ok(from >= at && to > from && to <= a.text.length, 'inserted ranges in order, inside the text now')
      kept += a.text.slice(at, from)
      at = to
    }
    kept += a.text.slice(at)
    let left = ''
    let pos = 0
    for (const [from, to] of marks.removed) {
      left += oldText.slice(pos, from)
      pos = to
    }
    left += oldText.slice(pos)
    assert.equal(kept, left, `trial ${trial} (seed ${rnd.seed}): the text now less what is new is the old text less what is gone`)
    assert.equal(marks.deletedAt.length > 0, marks.removed.length > 0)
    for (const [from, to] of marks.removed) assert.ok(from < to && to <= oldText.length, 'every removed range is in the old text')
    for (const x of marks.added) assert.ok(x.text.length > 0 && x.at <= oldText.length, 'every addition has text and a place')
  }
})

test('the text replaced whole: all of it removed, the new text added', () => {
  let a = A.from<D>({ title: 't', text: 'old words' })
  const old = A.getHeads(a)
  a = A.change(a, (d) => {
    d.text = 'new'
  })
  assert.deepEqual(versionMarks(9, A.diff(a, old, A.getHeads(a))), {
    removed: [[0, 9]],
    added: [{ at: 9, text: 'new' }],
    inserted: [[0, 3]],
    deletedAt: [0],
  })
})

test('no change since: no marks; the title is not the text', () => {
  let a = A.from<D>({ title: 't', text: 'same' })
  const old = A.getHeads(a)
  const none = { removed: [], added: [], inserted: [], deletedAt: [] }
  assert.deepEqual(versionMarks(4, A.diff(a, old, old)), none)
  a = A.change(a, (d) => A.splice(d, ['title'], 0, 0, 'x'))
  assert.deepEqual(versionMarks(4, A.diff(a, old, A.getHeads(a))), none)
})

test('line marks (a board as text): applied to the old text, they give the text now (seeded random lines)', () => {
  const rnd = seeded()
  const line = (): string =>
    ['## To do', '', '- Buy milk', '- Call Ben (due 2026-12-02)', '  notes', '## Done', '- Ship it #urgent'][rnd.int(7)]!
  const text = (): string => Array.from({ length: rnd.int(12) }, line).join('\n') + (rnd.int(2) ? '\n' : '')
  for (let trial = 0; trial < 500; trial++) {
    const old = text()
    const now = rnd.int(4) ? text() : old
    const m = lineMarks(old, now)
    assert.equal(apply(old, { ...m, inserted: [], deletedAt: [] }), now, `old ${JSON.stringify(old)} now ${JSON.stringify(now)}`)
    if (old === now) assert.deepEqual(m, { removed: [], added: [] })
    // Too large to look for common lines: still exact, every differing line marked.
    const big = lineMarks(old, now, 0)
    assert.equal(apply(old, { ...big, inserted: [], deletedAt: [] }), now)
  }
  // Kept lines are not marked: a card moved from one column to the other is one line removed, one added.
  const before = '## To do\n\n- A\n- B\n\n## Done\n\n'
  const after = '## To do\n\n- B\n\n## Done\n\n- A\n'
  assert.deepEqual(lineMarks(before, after), { removed: [[10, 14]], added: [{ at: 28, text: '- A\n' }] })
})
