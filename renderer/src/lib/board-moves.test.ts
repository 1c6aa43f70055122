import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { type Board, keyboardMove, readBoard } from '../../../shared/board.ts'
import { addCard, changeBoard, initBoard, moveCard, moveColumn } from '../../../shared/board-edit.ts'
import {
  dropIndex,
  dueLabel,
  localDay,
  moveAnnouncement,
  moveColumnLocally,
  moveLocally,
  othersIn,
  placeAt,
  staysPut,
} from './board-moves.ts'

const DEVICE = 'device0000000001'

/** A board made with the real edits: To do (a, b, c), Doing (d), Done (empty). */
function sample(): { doc: A.Doc<unknown>; board: Board } {
  let doc = A.change(A.init<unknown>(), (d) =>
    initBoard(d as never, 'Sprint', [
      { id: 'todo', name: 'To do' },
      { id: 'doing', name: 'Doing' },
      { id: 'done', name: 'Done' },
    ]),
  )
  for (const [id, column] of [
    ['a', 'todo'],
    ['b', 'todo'],
    ['c', 'todo'],
    ['d', 'doing'],
  ] as const)
    doc = changeBoard(doc, (d, b) => addCard(d, b, id, column, { title: id.toUpperCase(), createdAt: 1, createdBy: DEVICE }))
  return { doc, board: readBoard(doc) }
}
const ids = (b: Board): string[][] => b.columns.map((c) => c.cards.map((k) => k.id))

test('dropIndex: the number of card middles above the pointer', () => {
  assert.equal(dropIndex([], 50), 0)
  assert.equal(dropIndex([10, 30, 50], 5), 0)
  assert.equal(dropIndex([10, 30, 50], 31), 2)
  assert.equal(dropIndex([10, 30, 50], 30), 1, 'on a middle: above that card')
  assert.equal(dropIndex([10, 30, 50], 99), 3)
})

test('placeAt names a neighbour: before the card at the index, after the last, or index 0 in an empty column', () => {
  const others = [{ id: 'a' }, { id: 'b' }]
  assert.deepEqual(placeAt(others, 0), { before: 'a' })
  assert.deepEqual(placeAt(others, 1), { before: 'b' })
  assert.deepEqual(placeAt(others, 2), { after: 'b' })
  assert.deepEqual(placeAt([], 0), { index: 0 })
})

test('a drop or a keyboard move sent as card.move lands where the local preview put it', () => {
  const { doc, board } = sample()
  const cases: [string, string, number][] = [
    ['a', 'todo', 2], // down to the end of its own column
    ['c', 'todo', 0], // up to the top
    ['b', 'doing', 0], // before d
    ['b', 'doing', 1], // after d
    ['a', 'done', 0], // an empty column
  ]
  for (const [card, column, at] of cases) {
    const place = placeAt(othersIn(board, column, card), at)
    const sent = readBoard(changeBoard(A.clone(doc), (d, b) => moveCard(d, b, card, column, place)))
    assert.deepEqual(ids(sent), ids(moveLocally(board, card, column, at)), `${card} → ${column} ${at}`)
  }
  // keyboardMove's index counts the same way.
  for (const direction of ['up', 'down', 'left', 'right'] as const)
    for (const card of ['a', 'b', 'c', 'd']) {
      const to = keyboardMove(board, card, direction)
      if (!to) continue
      const sent = readBoard(
        changeBoard(A.clone(doc), (d, b) => moveCard(d, b, card, to.column, placeAt(othersIn(board, to.column, card), to.index))),
      )
      assert.deepEqual(ids(sent), ids(moveLocally(board, card, to.column, to.index)), `${card} ${direction}`)
    }
})

test('staysPut, moveLocally on unknown ids, and the announcement', () => {
  const { board } = sample()
  assert.equal(staysPut(board, 'b', 'todo', 1), true)
  assert.equal(staysPut(board, 'b', 'todo', 0), false)
  assert.equal(staysPut(board, 'b', 'doing', 1), false)
  assert.equal(moveLocally(board, 'zz', 'todo', 0), board)
  assert.equal(moveLocally(board, 'a', 'nowhere', 0), board)
  const moved = moveLocally(board, 'a', 'doing', 1)
  assert.deepEqual(ids(moved), [['b', 'c'], ['d', 'a'], []])
  assert.equal(moved.columns[1]!.cards[1]!.column, 'doing')
  assert.equal(ids(board)[0]!.length, 3, 'the board given is not changed')
  assert.equal(moveAnnouncement(moved, 'a'), 'Moved “A” to Doing, 2 of 2.')
  assert.equal(moveAnnouncement(moved, 'zz'), '')
})

test('due dates: local day, overdue only after the day', () => {
  assert.equal(localDay(new Date(2027, 0, 5, 23, 59)), '2027-01-05')
  assert.deepEqual(
    { overdue: dueLabel('2027-01-04', '2027-01-05').overdue, today: dueLabel('2027-01-05', '2027-01-05').today },
    { overdue: true, today: true },
  )
  assert.equal(dueLabel('2027-01-05', '2027-01-05').overdue, false)
  assert.match(dueLabel('2028-03-01', '2027-01-05').text, /2028/)
  assert.doesNotMatch(dueLabel('2027-03-01', '2027-01-05').text, /2027/)
})

test('a column moved locally is where column.move puts it', () => {
  const { doc, board } = sample()
  for (const [id, index] of [
    ['done', 0],
    ['todo', 2],
    ['doing', 1],
    ['doing', 9],
  ] as const) {
    const sent = readBoard(changeBoard(A.clone(doc), (d, b) => moveColumn(d, b, id, index)))
    assert.deepEqual(
      moveColumnLocally(board, id, index).columns.map((c) => c.id),
      sent.columns.map((c) => c.id),
      `${id} → ${index}`,
    )
  }
  assert.equal(moveColumnLocally(board, 'nowhere', 0), board)
})
