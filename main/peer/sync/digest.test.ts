import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'
import { sinceHeads } from './digest.ts'

const actor = (who: string): string => who.repeat(48 / who.length)
const authorOf = (a: string): string => ({ [actor('aa')]: 'ana', [actor('bb')]: 'ben', [actor('cc')]: 'cat' })[a] ?? ''
const edit = (d: A.Doc<DocContent>, at: number, del: number, ins: string): A.Doc<DocContent> =>
  A.change(d, (x) => A.splice(x, ['text'], at, del, ins))

test('edits one after the other (each had the last) are no concurrent passage; the same edits made apart are', () => {
  const base = A.change(A.init<DocContent>({ actor: actor('aa') }), (d) => {
    d.title = 't'
    d.text = `The launch is on Monday at the harbour.\n${'Far below, another paragraph. '.repeat(4)}`
  })
  const read = A.getHeads(base)
  // Ben changes the day; Cat, who has Ben's change, the place next to it.
  const ben = edit(A.clone(base, { actor: actor('bb') }), 17, 6, 'Tuesday')
  const after = edit(A.clone(ben, { actor: actor('cc') }), 32, 0, 'old ')
  const sequential = sinceHeads(after, read, authorOf, 'ana')
  assert.deepEqual(sequential.passages, [])
  assert.deepEqual(
    sequential.authors.map((a) => [a.author, a.inserted, a.deleted, a.changes]),
    [
      ['ben', 7, 6, 1],
      ['cat', 4, 0, 1],
    ],
  )
  // Cat's change made without Ben's: concurrent, near each other, one passage naming both.
  const cat = edit(A.clone(base, { actor: actor('cc') }), 31, 0, 'old ')
  const merged = A.merge(A.clone(ben, { actor: actor('aa') }), cat)
  const apart = sinceHeads(merged, read, authorOf, 'ana')
  assert.equal(apart.passages.length, 1)
  assert.deepEqual(apart.passages[0]!.authors, ['ben', 'cat'])
  assert.match(apart.passages[0]!.excerpt, /Tuesday at the old harbour/)
  // Far apart in the text: concurrent, but not one passage.
  const far = edit(A.clone(base, { actor: actor('cc') }), base.text.length, 0, 'The end.')
  const farApart = sinceHeads(A.merge(A.clone(ben, { actor: actor('aa') }), edit(far, 0, 0, '')), read, authorOf, 'ana')
  assert.equal(farApart.passages.length, 0)
  // The reader's own changes are not theirs to be told about, but the passage they edited with a teammate is;
  // nothing since the heads read: nothing at all.
  const asBen = sinceHeads(merged, read, authorOf, 'ben')
  assert.deepEqual(
    asBen.authors.map((a) => a.author),
    ['cat'],
  )
  assert.deepEqual(asBen.passages[0]!.authors, ['ben', 'cat'])
  assert.deepEqual(sinceHeads(merged, A.getHeads(merged), authorOf, 'ana'), {
    authors: [],
    passages: [],
    compared: true,
    changes: 0,
    createdBy: null,
  })
  assert.equal(sinceHeads(merged, [], authorOf, 'ben').createdBy, 'ana', 'counted from the start: who made it')
})

test('a teammate’s change made without the reader’s own, read before it came, is a passage edited at the same time', () => {
  const base = A.change(A.init<DocContent>({ actor: actor('aa') }), (d) => {
    d.title = 't'
    d.text = 'Bring the zeppelin plans.'
  })
  // Ana adds to the line and reads the document (her heads now); Ben, who never had her change, adds to it too.
  const ana = edit(base, 25, 0, ' Ana: the mast.')
  const read = A.getHeads(ana)
  const ben = edit(A.clone(base, { actor: actor('bb') }), 25, 0, ' Ben: rope.')
  const merged = A.merge(A.clone(ana, { actor: actor('aa') }), ben)
  const s = sinceHeads(merged, read, authorOf, 'ana')
  assert.deepEqual(
    s.authors.map((a) => a.author),
    ['ben'],
    'only Ben’s is new',
  )
  assert.equal(s.changes, 1)
  assert.equal(s.passages.length, 1)
  assert.deepEqual(s.passages[0]!.authors, ['ana', 'ben'])
  // Had Ben built on Ana's change, it would be no passage.
  const after = edit(A.clone(ana, { actor: actor('bb') }), 40, 0, ' Ben: rope.')
  assert.deepEqual(sinceHeads(after, read, authorOf, 'ana').passages, [])
})

test('a large change (a paste, a text replaced) is measured like a small one: characters in and out, and where', () => {
  const base = A.change(A.init<DocContent>({ actor: actor('aa') }), (d) => {
    d.title = 't'
    d.text = 'start. end.'
  })
  const read = A.getHeads(base)
  let ben = edit(A.clone(base, { actor: actor('bb') }), 7, 0, 'x'.repeat(6_000))
  ben = edit(ben, 7, 5_000, '')
  ben = edit(ben, 0, 0, 'small ')
  const s = sinceHeads(ben, read, authorOf, 'ana')
  assert.deepEqual(
    s.authors.map((a) => [a.author, a.inserted, a.deleted, a.changes]),
    [['ben', 6_006, 5_000, 3]],
  )
  // Cat, concurrently, right where Ben's paste is: one passage.
  const cat = edit(A.clone(base, { actor: actor('cc') }), 7, 0, 'Cat. ')
  assert.deepEqual(sinceHeads(A.merge(A.clone(ben), cat), read, authorOf, 'ana').passages[0]?.authors, ['ben', 'cat'])
})
