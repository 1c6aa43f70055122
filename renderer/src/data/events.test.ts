import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseChangesEvent, parseEvent } from './events.ts'

const presence = { workspaceId: 'w', deviceId: 'p', name: 'Ana', docId: 'd', cursor: { anchor: '3@aa', head: 'e' }, utcOffsetMinutes: 60, at: 1 }

test('well-formed events pass', () => {
  assert.ok(parseEvent({ type: 'doc.list', workspaceId: 'w' }))
  assert.ok(parseEvent({ type: 'presence', presence }))
  assert.ok(parseEvent({ type: 'join.request', request: { requestId: 'r', workspaceId: 'w', workspaceName: 'S', deviceId: 'p', name: 'Bo', safetyWords: 'a b c' } }))
  assert.deepEqual(parseChangesEvent({ type: 'doc.changes', docId: 'd', changes: [new Uint8Array([1])] }, 'd'), [new Uint8Array([1])])
})

test('malformed events are dropped whole', () => {
  const bad: unknown[] = [
    null, {}, { type: 'nope' }, { type: 'doc.list' }, { type: 'doc.list', workspaceId: 7 },
    { type: 'doc.changes', docId: 'd', changes: ['not bytes'] },
    { type: 'doc.changes', docId: 'd', changes: [new Uint8Array(300 * 1024)] },
    { type: 'presence', presence: { ...presence, utcOffsetMinutes: 'x' } },
    { type: 'presence', presence: { ...presence, cursor: { anchor: 1 } } },
    { type: 'join.request', request: { requestId: 'r' } },
  ]
  for (const e of bad) assert.equal(parseEvent(e), null, JSON.stringify(e, (_k, v) => (v instanceof Uint8Array ? `bytes(${v.length})` : v)))
  assert.equal(parseChangesEvent({ type: 'doc.changes', docId: 'other', changes: [new Uint8Array([1])] }, 'd'), null)
  assert.equal(parseChangesEvent({ type: 'doc.changes', docId: 'd', changes: [] }, 'd'), null)
})
