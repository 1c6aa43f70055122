/**
 * The board model without a peer: order keys, the reader on damaged documents, and random concurrent
 * edits of three Automerge replicas merged directly (seeded: `GRAPEVINE_SEED` replays a run).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { isPositionKey, keyBetween, spreadKeys } from '../../../shared/board-position.ts'
import { type BoardContent, boardText, IMPLICIT_COLUMN_ID, keyboardMove, readBoard } from '../../../shared/board.ts'
import {
  addCard,
  addColumn,
  changeBoard,
  deleteCard,
  deleteColumn,
  initBoard,
  moveCard,
  moveColumn,
  newBoardItemId,
  renameColumn,
  updateCard,
} from '../../../shared/board-edit.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import {
  CLIPPED_TITLE_CHARS,
  MAX_BOARD_CARDS,
  MAX_BOARD_TEXT_CHARS,
  MAX_CARD_TITLE_CHARS,
  MAX_POSITION_CHARS,
} from '../../../shared/limits.ts'
import { seededRandom, type Random } from './random.ts'

const rnd = seededRandom('board model')
const DEVICE = '12D3KooWBoardTestDevice1'

test('keyBetween: every insert lands strictly between its neighbours, with valid short keys', () => {
  for (let run = 0; run < 20; run++) {
    const r = rnd.fork()
    const keys: string[] = []
    for (let i = 0; i < 400; i++) {
      // Mostly at the ends (a column grown at the top or bottom), sometimes anywhere.
      const roll = r.int(4)
      const at = roll === 0 ? 0 : roll === 1 ? keys.length : r.int(keys.length + 1)
      const k = keyBetween(keys[at - 1] ?? null, keys[at] ?? null)
      assert.ok(isPositionKey(k), `valid: ${k}`)
      if (at > 0) assert.ok(keys[at - 1]! < k, `${keys[at - 1]} < ${k}`)
      if (at < keys.length) assert.ok(k < keys[at]!, `${k} < ${keys[at]}`)
      keys.splice(at, 0, k)
    }
    assert.ok(Math.max(...keys.map((k) => k.length)) <= 24, 'keys stay short when inserted at the ends')
  }
  // Appending and prepending step a digit at a time.
  let k = keyBetween(null, null)
  for (let i = 0; i < 1000; i++) k = keyBetween(k, null)
  assert.ok(k.length <= 40, `1000 appends: ${k.length} characters`)
  k = keyBetween(null, null)
  for (let i = 0; i < 1000; i++) k = keyBetween(null, k)
  assert.ok(isPositionKey(k) && k.length <= 40, `1000 prepends: ${k}`)
  assert.equal(keyBetween(null, '1'), '0V')
  assert.equal(keyBetween(null, '01'), '00V')
  // Refused: equal or reversed neighbours, and anything that is not a key.
  assert.throws(() => keyBetween('V', 'V'), RangeError)
  assert.throws(() => keyBetween('W', 'V'), RangeError)
  assert.throws(() => keyBetween('V0', null), RangeError)
  assert.throws(() => keyBetween('a-b', null), RangeError)
  assert.throws(() => keyBetween('x'.repeat(MAX_POSITION_CHARS + 1), null), RangeError)
})

test('spreadKeys: n ascending valid keys', () => {
  for (const n of [0, 1, 2, 61, 62, 63, 500, MAX_BOARD_CARDS]) {
    const keys = spreadKeys(n)
    assert.equal(keys.length, n)
    for (let i = 0; i < n; i++) {
      assert.ok(isPositionKey(keys[i]), keys[i])
      if (i > 0) assert.ok(keys[i - 1]! < keys[i]!)
    }
  }
})

const ids = (r: Random) => () => newBoardItemId((b) => b.map(() => r.int(256)))

function newBoard(columns = ['To do', 'Doing', 'Done']): A.Doc<BoardContent> {
  return A.change(A.init<BoardContent>(), (d) =>
    initBoard(
      d,
      'Sprint',
      columns.map((name, i) => ({ id: `c${i}aaaaaaaaaaaaaa`, name })),
    ),
  )
}

const flat = (doc: A.Doc<BoardContent>) => readBoard(doc).columns.flatMap((c) => c.cards.map((k) => `${c.id}/${k.id}`))

test('edits: add at places, move within and between columns, update fields, delete; columns too', () => {
  let doc = newBoard()
  const col = readBoard(doc).columns.map((c) => c.id)
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'a1', col[0]!, { title: 'First', createdAt: 1, createdBy: DEVICE }))
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'a2', col[0]!, { title: 'Second', createdAt: 2, createdBy: DEVICE }))
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'a0', col[0]!, { title: 'Top', createdAt: 3, createdBy: DEVICE }, { index: 0 }))
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'a15', col[0]!, { title: 'Between', createdAt: 4, createdBy: DEVICE }, { before: 'a2' }))
  assert.deepEqual(
    flat(doc),
    ['a0', 'a1', 'a15', 'a2'].map((id) => `${col[0]}/${id}`),
  )
  doc = changeBoard(doc, (d, b) => moveCard(d, b, 'a0', col[1]!))
  doc = changeBoard(doc, (d, b) => moveCard(d, b, 'a2', col[1]!, { before: 'a0' }))
  doc = changeBoard(doc, (d, b) => moveCard(d, b, 'a1', col[0]!, { after: 'a15' }))
  assert.deepEqual(flat(doc), [`${col[0]}/a15`, `${col[0]}/a1`, `${col[1]}/a2`, `${col[1]}/a0`])
  doc = A.change(doc, (d) =>
    updateCard(d, 'a1', { title: 'First!', description: 'why', assignee: DEVICE, due: '2027-02-28', labels: ['bug', 'ui'] }),
  )
  doc = A.change(doc, (d) => updateCard(d, 'a1', { labels: ['ui', 'p1'], due: null }))
  const a1 = readBoard(doc).columns[0]!.cards[1]!
  assert.deepEqual(
    { title: a1.title, description: a1.description, assignee: a1.assignee, due: a1.due, labels: a1.labels },
    { title: 'First!', description: 'why', assignee: DEVICE, due: null, labels: ['p1', 'ui'] },
  )
  doc = A.change(doc, (d) => deleteCard(d, 'a15'))
  doc = changeBoard(doc, (d, b) => addColumn(d, b, 'cnew', 'Review', 1))
  doc = changeBoard(doc, (d, b) => renameColumn(d, b, col[2]!, 'Shipped'))
  doc = changeBoard(doc, (d, b) => moveColumn(d, b, col[2]!, 0))
  assert.deepEqual(
    readBoard(doc).columns.map((c) => c.name),
    ['Shipped', 'To do', 'Review', 'Doing'],
  )
  let moved = 0
  doc = changeBoard(doc, (d, b) => {
    moved = deleteColumn(d, b, col[1]!)
  })
  assert.equal(moved, 2)
  // The first column left is Shipped: Doing's cards went to its end.
  assert.deepEqual(flat(doc), [`${col[2]}/a2`, `${col[2]}/a0`, `${col[0]}/a1`])
  assert.match(boardText(readBoard(doc)), /## Shipped\n\n- Second\n- Top\n\n## To do\n\n- First! \(#p1 #ui\)\n {2}why/)

  // What a client can act on.
  const code = (fn: () => void): string => {
    try {
      fn()
    } catch (err) {
      assert.ok(err instanceof GrapevineError, String(err))
      return err.code
    }
    return 'none'
  }
  assert.equal(
    code(() => changeBoard(doc, (d, b) => moveCard(d, b, 'nope', col[0]!))),
    'not-found',
  )
  assert.equal(
    code(() => changeBoard(doc, (d, b) => moveCard(d, b, 'a1', 'nope'))),
    'not-found',
  )
  assert.equal(
    code(() => changeBoard(doc, (d, b) => moveCard(d, b, 'a1', col[2]!, { before: 'zz' }))),
    'not-found',
  )
  assert.equal(
    code(() => changeBoard(doc, (d, b) => addCard(d, b, 'a1', col[0]!, { title: 'x', createdAt: 0, createdBy: DEVICE }))),
    'conflict',
  )
  assert.equal(
    code(() => A.change(doc, (d) => updateCard(d, 'nope', { title: 'x' }))),
    'not-found',
  )
  assert.equal(
    code(() => A.change(doc, (d) => deleteCard(d, 'nope'))),
    'not-found',
  )
  for (const c of ['cnew', col[0]!]) doc = changeBoard(doc, (d, b) => void deleteColumn(d, b, c))
  assert.equal(
    code(() => changeBoard(doc, (d, b) => deleteColumn(d, b, col[2]!))),
    'conflict',
    'the last column stays',
  )
})

test('ties: cards inserted at one place concurrently are ordered by id, and an insert between them re-keys', () => {
  const base = newBoard(['Only'])
  const col = readBoard(base).columns[0]!.id
  const a = changeBoard(A.clone(base), (d, b) => addCard(d, b, 'bbb', col, { title: 'B', createdAt: 0, createdBy: DEVICE }))
  const b = changeBoard(A.clone(base), (d, b) => addCard(d, b, 'aaa', col, { title: 'A', createdAt: 0, createdBy: DEVICE }))
  let m = A.merge(A.clone(a), b)
  assert.equal(readBoard(m).columns[0]!.cards[0]!.pos, readBoard(m).columns[0]!.cards[1]!.pos, 'the same key on both')
  assert.deepEqual(flat(m), [`${col}/aaa`, `${col}/bbb`])
  m = changeBoard(m, (d, b) => addCard(d, b, 'ccc', col, { title: 'C', createdAt: 0, createdBy: DEVICE }, { after: 'aaa' }))
  assert.deepEqual(flat(m), [`${col}/aaa`, `${col}/ccc`, `${col}/bbb`])
  const keys = readBoard(m).columns[0]!.cards.map((c) => c.pos!)
  assert.ok(keys[0]! < keys[1]! && keys[1]! < keys[2]!, 'distinct keys after the re-key')
})

test('a damaged or hostile board still reads: wrong types ignored, sizes capped, no card lost from view', () => {
  const doc = A.from<Record<string, unknown>>({
    kind: 'board',
    title: 42,
    columns: {
      good: { name: 'Good', pos: 'V' },
      nopos: { name: 'No key', pos: 7 },
      'bad id!': { name: 'Bad id', pos: 'W' },
      notamap: 'x',
      list: [1, 2],
    },
    cards: {
      c1: { title: 'x'.repeat(MAX_CARD_TITLE_CHARS + 50), column: 'good', pos: 'V', labels: { ok: true, ' pad': true, n: 1 } },
      c2: { title: 5, column: 'gone', pos: 'a1', assignee: 'not a device!', due: '2027-02-30' },
      c3: { title: 'garbage key', column: 'good', pos: '??', due: '2027-02-28', assignee: DEVICE, createdBy: 12 },
      c4: 'not a card',
      'bad id!': { title: 'bad id', column: 'good' },
    },
  })
  const b = readBoard(doc)
  assert.equal(b.title, '')
  assert.deepEqual(
    b.columns.map((c) => c.id),
    ['good', 'nopos'],
  )
  assert.deepEqual(
    b.columns[0]!.cards.map((c) => c.id),
    ['c1', 'c2', 'c3'],
    "c2's column is gone: it shows in the first; c3's key is not valid: it sorts after the valid ones",
  )
  const [c1, c2, c3] = b.columns[0]!.cards
  assert.equal(c1!.title.length, MAX_CARD_TITLE_CHARS)
  assert.deepEqual(c1!.labels, ['ok'])
  assert.deepEqual([c2!.title, c2!.assignee, c2!.due, c2!.column], ['', null, null, 'good'])
  assert.deepEqual([c3!.pos, c3!.assignee, c3!.due, c3!.createdBy], [null, DEVICE, '2027-02-28', null])

  // No columns at all: the cards show in a stand-in column. Not a map at all: an empty board.
  const bare = readBoard(A.from<Record<string, unknown>>({ kind: 'board', title: 'T', cards: { k: { title: 'Kept' } } }))
  assert.deepEqual(
    bare.columns.map((c) => [c.id, c.implicit, c.cards.map((k) => k.title)]),
    [[IMPLICIT_COLUMN_ID, true, ['Kept']]],
  )
  for (const junk of [null, 7, 'board', [], { kind: 'board', columns: [], cards: [] }]) {
    const r = readBoard(junk)
    assert.equal(r.columns.length, 1)
    assert.equal(r.columns[0]!.cards.length, 0)
  }
  // Edits repair what they touch: a card added to the damaged board lands in a real column, and a move
  // into a column with garbage keys re-keys it.
  let d2 = changeBoard(doc, (d, b) => addCard(d, b, 'new1', 'good', { title: 'New', createdAt: 0, createdBy: DEVICE }, { after: 'c3' }))
  assert.deepEqual(
    readBoard(d2).columns[0]!.cards.map((c) => c.id),
    ['c1', 'c2', 'c3', 'new1'],
  )
  d2 = changeBoard(d2, (d, b) => moveCard(d, b, 'c1', 'nopos'))
  assert.deepEqual(
    readBoard(d2).columns[1]!.cards.map((c) => c.id),
    ['c1'],
  )
})

/** One random edit of a replica (seeded); records what was added and deleted. */
function randomEdit(doc: A.Doc<BoardContent>, r: Random, made: { added: Set<string>; deleted: Set<string> }): A.Doc<BoardContent> {
  const board = readBoard(doc)
  const columns = board.columns.filter((c) => !c.implicit)
  const cards = board.columns.flatMap((c) => c.cards)
  const newId = ids(r)
  const roll = r.int(100)
  return changeBoard(doc, (d, b) => {
    // Concurrent deletes can leave no column at all (the cards then show in a stand-in): add one.
    if (columns.length === 0) addColumn(d, b, newId(), `new ${r.text(2)}`)
    else if (roll < 30 || cards.length === 0) {
      const id = newId()
      const target = r.pick(columns)
      const place = target.cards.length && r.int(2) ? { before: r.pick(target.cards).id } : { index: r.int(target.cards.length + 1) }
      addCard(d, b, id, target.id, { title: `card ${id}`, createdAt: 0, createdBy: DEVICE }, place)
      made.added.add(id)
    } else if (roll < 65) {
      const card = r.pick(cards)
      const target = r.pick(columns)
      const others = target.cards.filter((k) => k.id !== card.id)
      const place = others.length && r.int(2) ? { after: r.pick(others).id } : { index: r.int(others.length + 1) }
      moveCard(d, b, card.id, target.id, place)
    } else if (roll < 85) {
      const card = r.pick(cards)
      updateCard(d, card.id, {
        title: `${card.title} ${r.text(2)}`,
        description: r.int(2) ? r.text(5) : undefined,
        labels: r.int(2) ? [r.pick(['a', 'b', 'c'])] : undefined,
        due: r.int(3) === 0 ? `2027-0${r.between(1, 9)}-1${r.int(10)}` : undefined,
      })
    } else if (roll < 92) {
      const card = r.pick(cards)
      deleteCard(d, card.id)
      made.deleted.add(card.id)
    } else if (roll < 96) {
      renameColumn(d, b, r.pick(columns).id, `col ${r.text(3)}`)
    } else if (roll < 98 || columns.length < 2) {
      addColumn(d, b, newId(), `new ${r.text(2)}`, r.int(columns.length + 1))
    } else {
      deleteColumn(d, b, r.pick(columns).id)
    }
  })
}

test('random concurrent edits on three replicas merged directly converge, every card exactly once', () => {
  const cases = Number(process.env['GRAPEVINE_BOARD_CASES'] ?? 30)
  for (let n = 0; n < cases; n++) {
    const r = rnd.fork()
    const base = newBoard()
    let replicas = [0, 1, 2].map((i) => A.clone(base, { actor: `${'ab'.repeat(15)}0${i}` }))
    const made = { added: new Set<string>(), deleted: new Set<string>() }
    for (let step = 0; step < 40; step++) {
      const i = r.int(3)
      replicas[i] = randomEdit(replicas[i]!, r, made)
      // Now and then two replicas exchange what they have (a partial heal).
      if (r.int(6) === 0) {
        const [x, y] = [r.int(3), r.int(3)]
        if (x !== y) replicas[x] = A.merge(replicas[x]!, replicas[y]!)
      }
    }
    replicas = replicas.map((doc, i) => replicas.reduce((acc, other, j) => (i === j ? acc : A.merge(acc, other)), A.clone(doc)))
    const views = replicas.map((d) => JSON.stringify(readBoard(d)))
    assert.equal(views[1], views[0], `case ${n}: replicas 0 and 1 differ`)
    assert.equal(views[2], views[0], `case ${n}: replicas 0 and 2 differ`)
    const shown = readBoard(replicas[0]!).columns.flatMap((c) => c.cards.map((k) => k.id))
    assert.equal(new Set(shown).size, shown.length, `case ${n}: a card shows twice`)
    const expected = [...made.added].filter((id) => !made.deleted.has(id)).sort()
    assert.deepEqual([...shown].sort(), expected, `case ${n}: cards lost or resurrected`)
  }
})

test('keys never grow past the cap: inserting again and again at one place re-keys the column, in order', () => {
  let doc = newBoard(['Only'])
  const col = readBoard(doc).columns[0]!.id
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'first', col, { title: 'first', createdAt: 0, createdBy: DEVICE }))
  doc = changeBoard(doc, (d, b) => addCard(d, b, 'last', col, { title: 'last', createdAt: 0, createdBy: DEVICE }))
  const started = performance.now()
  // Each new card goes right after the first: between the first and the one added before it.
  const n = 400
  for (let i = 0; i < n; i++)
    doc = changeBoard(doc, (d, b) => addCard(d, b, `k${i}`, col, { title: `${i}`, createdAt: 0, createdBy: DEVICE }, { index: 1 }))
  const ms = performance.now() - started
  const cards = readBoard(doc).columns[0]!.cards
  assert.deepEqual(
    cards.map((c) => c.id),
    ['first', ...Array.from({ length: n }, (_, i) => `k${n - 1 - i}`), 'last'],
  )
  assert.ok(
    cards.every((c) => c.pos !== null && c.pos.length <= MAX_POSITION_CHARS),
    'every key valid and within the cap',
  )
  const longest = Math.max(...cards.map((c) => c.pos!.length))
  // Midpoints alone would have reached about 67 characters (a character per ~6 halvings): the column was re-keyed.
  assert.ok(longest < 20, `longest key ${longest}`)
  console.log(`${n} inserts at one place: ${(ms / n).toFixed(2)} ms each, longest key ${longest}`)
})

test("concurrent moves of one card resolve to one writer's move: its column and its key together", () => {
  for (let n = 0; n < 40; n++) {
    const r = rnd.fork()
    let base = newBoard()
    const cols = readBoard(base).columns.map((c) => c.id)
    for (let i = 0; i < 6; i++)
      base = changeBoard(base, (d, b) => addCard(d, b, `k${i}`, r.pick(cols), { title: `${i}`, createdAt: 0, createdBy: DEVICE }))
    const moved = (actor: string) =>
      changeBoard(A.clone(base, { actor }), (d, b) => {
        // Some other writes first, so the two changes' operation counters differ.
        for (let i = 0; i < r.int(4); i++) updateCard(d, `k${1 + r.int(5)}`, { due: '2027-01-01' })
        const want = r.pick(cols)
        const target = b.columns.find((c) => c.id === want)!
        moveCard(d, b, 'k0', target.id, { index: r.int(target.cards.length + 1) })
      })
    const [x, y] = [moved('aa'.repeat(16)), moved('bb'.repeat(16))]
    const placeOf = (doc: A.Doc<BoardContent>) => {
      const raw = doc.cards['k0']!
      return `${raw.column.val} ${raw.pos.val}`
    }
    const merged = placeOf(A.merge(A.clone(x), y))
    assert.ok([placeOf(x), placeOf(y)].includes(merged), `case ${n}: ${merged} is neither ${placeOf(x)} nor ${placeOf(y)}`)
    assert.equal(placeOf(A.merge(A.clone(y), x)), merged, `case ${n}: both orders of merging agree`)
  }
})

test('keyboard moves: up and down within a column, left and right at the same row; none past the edges', () => {
  let doc = newBoard()
  const [a, b, c] = readBoard(doc).columns.map((k) => k.id) as [string, string, string]
  for (const [id, col] of [
    ['x1', a],
    ['x2', a],
    ['x3', a],
    ['y1', b],
  ] as const)
    doc = changeBoard(doc, (d, bd) => addCard(d, bd, id, col, { title: id, createdAt: 0, createdBy: DEVICE }))
  const move = (id: string, dir: 'up' | 'down' | 'left' | 'right') => {
    const to = keyboardMove(readBoard(doc), id, dir)
    if (to) doc = changeBoard(doc, (d, bd) => moveCard(d, bd, id, to.column, { index: to.index }))
    return to !== null
  }
  assert.equal(move('x1', 'up'), false, 'the top card goes no higher')
  assert.equal(move('x1', 'left'), false, 'the first column has nothing on its left')
  assert.ok(move('x1', 'down'))
  assert.deepEqual(flat(doc).slice(0, 3), [`${a}/x2`, `${a}/x1`, `${a}/x3`])
  assert.ok(move('x3', 'right'), 'row 2 of To do → the end of Doing, which has one card')
  assert.deepEqual(flat(doc), [`${a}/x2`, `${a}/x1`, `${b}/y1`, `${b}/x3`])
  assert.ok(move('x2', 'right'), 'row 0 → row 0')
  assert.deepEqual(flat(doc), [`${a}/x1`, `${b}/x2`, `${b}/y1`, `${b}/x3`])
  assert.ok(move('x3', 'up'))
  assert.ok(move('x3', 'right'))
  assert.equal(move('x3', 'right'), false, 'the last column has nothing on its right')
  assert.equal(move('x3', 'down'), false)
  assert.deepEqual(flat(doc), [`${a}/x1`, `${b}/x2`, `${b}/y1`, `${c}/x3`])
  assert.equal(keyboardMove(readBoard(doc), 'nope', 'up'), null)
})

test('a board filled past its text budget still reads within it: the cards past it are clipped, none dropped', () => {
  const cards: Record<string, unknown> = {}
  for (let i = 0; i < 300; i++)
    cards[`c${String(i).padStart(3, '0')}`] = {
      title: `t${i}`.repeat(100),
      description: 'd'.repeat(5000),
      column: 'col',
      pos: 'V',
      labels: { big: true },
    }
  const b = readBoard({ kind: 'board', columns: { col: { name: 'All', pos: 'V' } }, cards })
  const shown = b.columns[0]!.cards
  assert.equal(shown.length, 300)
  const size = shown.reduce((n, c) => n + c.title.length + c.description.length + c.labels.join('').length, 0)
  const clipped = shown.filter((c) => c.clipped)
  // The budget, and what is kept of the titles of the cards past it.
  assert.ok(size <= MAX_BOARD_TEXT_CHARS + clipped.length * CLIPPED_TITLE_CHARS, `${size} characters`)
  assert.ok(clipped.length > 0 && clipped.length < 300)
  assert.ok(clipped.every((c) => c.description === '' && c.labels.length === 0 && c.title.length <= CLIPPED_TITLE_CHARS))
  assert.ok(
    shown.slice(0, 10).every((c) => !c.clipped),
    'the first cards, in board order, keep their text',
  )
})
