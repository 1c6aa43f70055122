import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HistorySession } from './types.ts'
import { sessionChanges } from './history-text.ts'

const session = (s: Partial<HistorySession>): HistorySession => ({
  version: 'a'.repeat(64),
  authorId: '',
  authorName: 'Ben',
  own: false,
  startedAt: 0,
  endedAt: 0,
  inserted: 0,
  deleted: 0,
  changes: 1,
  retitled: false,
  authorUtcOffsetMinutes: null,
  ...s,
})

test("a session's changes in words: characters for a text, changes for a board, and a rename", () => {
  assert.equal(sessionChanges(session({ inserted: 12, deleted: 3, changes: 9 })), '+12 −3')
  assert.equal(sessionChanges(session({ inserted: 1, changes: 2, retitled: true })), '+1 −0 · renamed')
  // A board's session: card and column changes, counted; its rename is said apart.
  assert.equal(sessionChanges(session({ changes: 7 })), '7 changes')
  assert.equal(sessionChanges(session({ changes: 8, retitled: true })), '7 changes · renamed')
  assert.equal(sessionChanges(session({ changes: 2, retitled: true })), '1 change · renamed')
  assert.equal(sessionChanges(session({ changes: 1, retitled: true })), 'renamed')
  assert.equal(sessionChanges(session({ changes: 0 })), 'no text changed')
})
