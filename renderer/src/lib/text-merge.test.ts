import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mergeEdit } from './text-merge.ts'

test('mergeEdit keeps a teammate’s change made elsewhere in the text while one typed', () => {
  const base = 'Users cannot log in after the update.'
  // Ours at the end, theirs at the start; and the other way round.
  assert.equal(
    mergeEdit(base, 'Users cannot log in after the update. Seen on Android.', 'Some users cannot log in after the update.'),
    'Some users cannot log in after the update. Seen on Android.',
  )
  assert.equal(
    mergeEdit(base, 'Old users cannot log in after the update.', 'Users cannot log in after the 2.1 update.'),
    'Old users cannot log in after the 2.1 update.',
  )
  // Deletions merge too.
  assert.equal(mergeEdit('a b c d', 'b c d', 'a b c'), 'b c')
})

test('mergeEdit: where both changed the same words, one’s own edit wins; no change on a side takes the other', () => {
  const base = 'Fix login'
  assert.equal(mergeEdit(base, 'Fix the signup', 'Fix logon'), 'Fix the signup')
  // Close by but apart: both.
  assert.equal(mergeEdit(base, 'Fix the login', 'Fix logon'), 'Fix the logon')
  assert.equal(mergeEdit(base, base, 'Fix logon'), 'Fix logon')
  assert.equal(mergeEdit(base, 'Fix logon', base), 'Fix logon')
  assert.equal(mergeEdit(base, 'Fix logon', 'Fix logon'), 'Fix logon')
  assert.equal(mergeEdit('', 'a', 'b'), 'ab')
  // Both insert at the very same place: one's own goes first, nothing is lost.
  assert.equal(mergeEdit('ab', 'aXb', 'aYb'), 'aXYb')
})
