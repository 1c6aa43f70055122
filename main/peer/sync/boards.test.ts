/**
 * `Boards.mine` ("my tasks") and `Boards.inOrder` as pieces, with the documents and workspaces it reads stood in for:
 * which boards it reads (and reads again only when their heads moved), in which order, and its cap. (The whole path runs against real peers in
 * test/contract.test.ts, test/board.test.ts and cli/board.test.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { BoardContent } from '../../../shared/board.ts'
import { initBoard } from '../../../shared/board-edit.ts'
import { MAX_LISTED_TASKS } from '../../../shared/limits.ts'
import type { DocumentRow } from '../store/types.ts'
import { Boards, type BoardsComponents } from './boards.ts'

const ME = '12D3KooWMeMeMeMeMeMe'
const YOU = '12D3KooWYouYouYouYou'

const board = (title: string, cards: [string, string][]) => ({
  kind: 'board',
  title,
  columns: { col: { name: 'To do', pos: 'V' } },
  cards: Object.fromEntries(cards.map(([id, who]) => [id, { title: `${title} ${id}`, column: 'col', pos: 'V', assignee: who }])),
})

test('my tasks: cards assigned to this device on the boards it reads, boards by title, at most MAX_LISTED_TASKS', () => {
  const docs: Record<string, { ws: string; deleted?: boolean; doc: unknown; heads?: string[] }> = {
    b1: {
      ws: 'w1',
      doc: board('Zeta', [
        ['z1', ME],
        ['z2', YOU],
      ]),
    },
    b2: {
      ws: 'w1',
      doc: board('Alpha', [
        ['a1', YOU],
        ['a2', ME],
        ['a3', ME],
      ]),
    },
    b3: { ws: 'w1', deleted: true, doc: board('Gone', [['g1', ME]]) },
    t1: { ws: 'w1', doc: { title: 'Notes', text: 'assigned to me?' } },
    k1: { ws: 'kept', doc: board('Sealed', [['s1', ME]]) },
    big: {
      ws: 'w2',
      doc: board(
        'Big',
        Array.from({ length: MAX_LISTED_TASKS + 5 }, (_, i) => [`c${String(i).padStart(4, '0')}`, ME]),
      ),
    },
  }
  const row = (id: string): DocumentRow => ({
    id,
    workspaceId: docs[id]!.ws,
    title: (docs[id]!.doc as { title: string }).title,
    heads: docs[id]!.heads ?? [],
    createdAt: 0,
    lastChangeAt: 0,
    lastChangeBy: null,
    deleted: docs[id]!.deleted ?? false,
    changeCount: 1,
    lastRemoteAt: 0,
  })
  const read: string[] = []
  const components = {
    self: ME,
    documents: {
      list: (ws: string) =>
        Object.keys(docs)
          .filter((id) => docs[id]!.ws === ws && !docs[id]!.deleted)
          .map(row),
      kindOf: (id: string) => ((docs[id]!.doc as { kind?: string }).kind === 'board' ? 'board' : 'text'),
      read: (id: string, fn: (doc: never) => unknown) => {
        read.push(id)
        return fn(docs[id]!.doc as never)
      },
    },
    workspaces: { roleOf: (ws: string) => (ws === 'kept' ? 'keeper' : 'editor') },
  } as unknown as BoardsComponents
  const boards = new Boards(components)
  assert.deepEqual(
    boards.mine(['w1', 'kept']).map((t) => `${t.boardTitle}/${t.card.id}/${t.columnName}`),
    ['Alpha/a2/To do', 'Alpha/a3/To do', 'Zeta/z1/To do'],
  )
  assert.deepEqual(read.sort(), ['b1', 'b2'], 'only the boards are read: not text documents, deleted boards, or what a keeper keeps')
  // Asked again with no board changed, it reads none; a board whose heads moved is read again, and only it.
  read.length = 0
  assert.equal(boards.mine(['w1']).length, 3)
  assert.deepEqual(read, [], 'boards whose heads did not move are not read again')
  docs['b1'] = {
    ws: 'w1',
    heads: ['ab'],
    doc: board('Zeta', [
      ['z1', YOU],
      ['z3', ME],
      ['z4', ME],
    ]),
  }
  assert.deepEqual(
    boards.mine(['w1']).map((t) => `${t.boardTitle}/${t.card.id}`),
    ['Alpha/a2', 'Alpha/a3', 'Zeta/z3', 'Zeta/z4'],
  )
  assert.deepEqual(read, ['b1'], 'only the board that changed is read again')
  const many = boards.mine(['w2'])
  assert.equal(many.length, MAX_LISTED_TASKS)
  assert.equal(many.at(-1)!.card.id, `c${String(MAX_LISTED_TASKS - 1).padStart(4, '0')}`)
})

test("one document's board methods answer in the order asked: a read asked after a move that waits shows the move", async () => {
  let doc = A.from<Record<string, unknown>>({})
  doc = A.change(doc, (d) =>
    initBoard(d as unknown as BoardContent, 'Sprint', [
      { id: 'todo', name: 'To do' },
      { id: 'doing', name: 'Doing' },
    ]),
  )
  // The move waits (as a move waits for the workspace's key); the read would not.
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const components = {
    self: ME,
    documents: {
      row: (id: string) => ({ id, workspaceId: 'w1' }),
      heads: () => [],
      read: (_id: string, fn: (d: unknown) => unknown) => fn(doc),
      edit: async (_id: string, fn: (d: unknown, current: unknown) => void) => {
        await gate
        doc = A.change(doc, (d) => fn(d, doc))
        return []
      },
    },
    workspaces: {},
  } as unknown as BoardsComponents
  const boards = new Boards(components)
  const order = async (p: Promise<{ columns: { name: string }[] }>) => (await p).columns.map((c) => c.name).join()

  // Not in order: the read answers first, with the board before the move.
  const early = boards.read('b')
  assert.equal(early.columns.map((c) => c.name).join(), 'To do,Doing')

  const moved = boards.inOrder('b', () => boards.moveColumn('b', 'doing', 0))
  const read = boards.inOrder('b', () => boards.read('b'))
  const failing = boards.inOrder('b', () => boards.moveColumn('b', 'no-such-column', 0))
  const after = boards.inOrder('b', () => boards.read('b'))
  const first = await Promise.race([read.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 50))])
  assert.equal(first, 'waiting', 'the read waits for the move asked before it')
  open()
  assert.equal(await order(moved.then((r) => r.board)), 'Doing,To do')
  assert.equal(await order(read), 'Doing,To do', 'the read shows the move')
  await assert.rejects(failing)
  assert.equal(await order(after), 'Doing,To do', 'a method that fails does not hold up the next')
})
