/** The window's side of one open document, without a view (what it does before the editor shows it, or for a reader). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChangeSet, EditorState, Text } from '@codemirror/state'
import type { EditorView } from '@codemirror/view'
import { EditorReplica, placedHere } from './replica-link.ts'
import type { ToWorker } from './replica-messages.ts'
import { TextSync } from './text-sync.ts'

function opened(text: string, since: { inserted: [number, number][]; deletedAt: number[] } | null = null) {
  const posted: ToWorker[] = []
  const r = new EditorReplica(1, 'd1', { t: 'opened', rid: 1, text, title: 'Plan', deleted: false, since }, (m) => void posted.push(m))
  return { r, posted }
}

test("a window that only reads tells the worker now and then which of its edits it has, so the worker's list stays short", () => {
  const { r, posted } = opened('hello')
  const worker = new TextSync('worker')
  let text = Text.of(['hello'])
  for (let i = 0; i < 100; i++) {
    const cs = ChangeSet.of({ from: text.length, insert: String(i % 10) }, text.length, '\n')
    text = cs.apply(text)
    r.receive({ t: 'remote', rid: 1, edit: worker.local(cs) })
    for (const m of posted.splice(0)) if (m.t === 'ack') worker.ack(m.seen)
  }
  assert.equal(r.text().toString(), text.toString())
  assert.ok(worker.unacknowledged() < 32, `the worker still keeps ${worker.unacknowledged()} edits`)
})

test('what changed since last read, and teammates’ selections, land where the text is now', () => {
  const { r, posted } = opened('abc def', { inserted: [[4, 7]], deletedAt: [3] })
  const worker = new TextSync('worker')
  const cs = ChangeSet.of({ from: 0, insert: '>> ' }, 7, '\n')
  let remote = 0
  r.listen('remote', () => remote++)
  r.receive({ t: 'remote', rid: 1, edit: worker.local(cs) })
  assert.equal(remote, 1)
  assert.deepEqual(r.since(), { inserted: [[7, 10]], deletedAt: [6] })
  assert.equal(r.text().sliceString(7, 10), 'def')
  const placed = (sync: TextSync, seen: number, at: [number, number][], length: number) =>
    placedHere(sync, { seen, placed: at.map(([anchor, head], i) => ({ deviceId: String(i), anchor, head })) }, length)
  assert.deepEqual(
    placed(
      new TextSync('window'),
      0,
      [
        [7, 10],
        [99, 99],
      ],
      10,
    ),
    [{ deviceId: '0', anchor: 7, head: 10 }],
    'a selection past the end is not shown',
  )
  // Placed by the worker before it had this window's "!" at 0: moved over it here.
  const window = new TextSync('window')
  window.local(ChangeSet.of({ from: 0, insert: '!' }, 3, '\n'))
  assert.deepEqual(placed(window, 0, [[1, 2]], 4), [{ deviceId: '0', anchor: 2, head: 3 }])
  assert.equal(posted.length, 0)
})

test('an edit that does not fit the text is refused: the view reopens the document', () => {
  const { r } = opened('abc')
  let rejected: Error | null = null
  r.listen('rejected', (e) => {
    rejected = e
  })
  r.receive({ t: 'remote', rid: 1, edit: { changes: ChangeSet.of({ from: 0, insert: 'x' }, 10).toJSON(), seen: 0 } })
  assert.match(String(rejected), /lost track/)
  assert.equal(r.text().toString(), 'abc')
})

test('a typed edit goes to the worker before the view applies it, and a view that then fails reopens the document', () => {
  const { r, posted } = opened('hello')
  const worker = new TextSync('worker')
  let state = EditorState.create({ doc: r.text(), extensions: [r.binding()] })
  const edits = (): number => posted.filter((m) => m.t === 'edit').length
  const seenByUpdate: number[] = []
  const view = {
    update(trs: readonly { state: EditorState }[]) {
      seenByUpdate.push(edits())
      state = trs.at(-1)!.state
    },
  } as unknown as EditorView
  r.dispatch([state.update({ changes: { from: 5, insert: '!' } })], view)
  const quote = state.update({ changes: { from: 0, insert: '> ' } })
  r.dispatch([quote, quote.state.update({ selection: { anchor: 0 } })], view)
  assert.deepEqual(seenByUpdate, [1, 2], 'each edit was posted before the view applied it')
  let text = Text.of(['hello'])
  for (const m of posted) if (m.t === 'edit') text = worker.receive(m.edit, text.length).apply(text)
  assert.equal(text.toString(), '> hello!')
  assert.equal(state.doc.toString(), '> hello!')

  let rejected: Error | null = null
  r.listen('rejected', (e) => {
    rejected = e
  })
  const failing = {
    update() {
      throw new Error('Calls to EditorView.update are not allowed while an update is in progress')
    },
  } as unknown as EditorView
  assert.throws(() => r.dispatch([state.update({ changes: { from: 0, insert: 'x' } })], failing), /not allowed/)
  assert.match(String(rejected), /could not apply an edit/)
  assert.equal(edits(), 3, 'the worker has the edit: the document opened again shows it')
})
