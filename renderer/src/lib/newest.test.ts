import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Newest } from './newest.ts'

test('Newest: an answer to an earlier request never replaces a later one', () => {
  const shown: string[] = []
  const n = new Newest<string>((v) => shown.push(v))
  const read = n.ask()
  const move = n.ask()
  n.answer(move, 'after the move')
  n.answer(read, 'before the move')
  assert.deepEqual(shown, ['after the move'])
  // A preview claims its request's place: a read asked before it no longer shows, its own answer does.
  const read2 = n.ask()
  const move2 = n.ask()
  n.claim(move2)
  n.answer(read2, 'stale')
  n.answer(move2, 'moved')
  assert.deepEqual(shown, ['after the move', 'moved'])
  n.answer(move2, 'moved again (the same request answered twice is still shown)')
  assert.equal(shown.length, 3)
})

test('Newest: held answers wait, and only the newest of them shows when the hold ends', () => {
  const shown: string[] = []
  const n = new Newest<string>((v) => shown.push(v))
  n.answer(n.ask(), 'first')
  n.hold(true)
  const a = n.ask()
  const b = n.ask()
  n.answer(b, 'b')
  n.answer(a, 'a')
  assert.deepEqual(shown, ['first'])
  n.hold(false)
  assert.deepEqual(shown, ['first', 'b'])
  n.hold(true)
  n.hold(false)
  assert.equal(shown.length, 2, 'nothing waiting, nothing shown')
  const before = n.ask()
  n.reset()
  n.answer(before, 'asked before the reset')
  assert.equal(shown.length, 2, 'an answer asked before the reset does not show')
  n.answer(n.ask(), 'asked after')
  assert.equal(shown.at(-1), 'asked after')
})
