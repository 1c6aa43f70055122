/** Teammates' cursors in the editor's state: set as placed, then moved by every edit until placed again. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EditorState } from '@codemirror/state'
import { remoteCursors, setRemoteCursors, shownCursors, type RemoteCursor } from './remote-cursors.ts'

const at = (deviceId: string, anchor: number, head: number): RemoteCursor => ({
  deviceId,
  name: deviceId,
  colour: '#000',
  selectionColour: '#0003',
  anchor,
  head,
})
const where = (s: EditorState) => shownCursors(s).map((c) => [c.deviceId, c.anchor, c.head])

test('teammates’ cursors follow the edits made after they were placed, and are clamped to the text', () => {
  let s = EditorState.create({ doc: 'hello world', extensions: remoteCursors() })
  s = s.update({ effects: setRemoteCursors.of([at('caret', 5, 5), at('sel', 6, 11), at('past', 40, 99)]) }).state
  assert.deepEqual(where(s), [
    ['caret', 5, 5],
    ['sel', 6, 11],
    ['past', 11, 11],
  ])
  // Typed where the caret stands: the caret stays after it. Typed at a selection's edges: it does not grow.
  s = s.update({
    changes: [
      { from: 5, insert: '!' },
      { from: 6, insert: '<' },
      { from: 11, insert: '>' },
    ],
  }).state
  assert.equal(s.doc.toString(), 'hello! <world>')
  assert.deepEqual(where(s), [
    ['caret', 6, 6],
    ['sel', 8, 13],
    ['past', 14, 14],
  ])
  assert.equal(s.doc.sliceString(8, 13), 'world')
  // Placed again with an edit in the same transaction: the placement is in the text after it.
  s = s.update({ changes: { from: 0, insert: '> ' }, effects: setRemoteCursors.of([at('caret', 0, 2)]) }).state
  assert.deepEqual(where(s), [['caret', 0, 2]])
})
