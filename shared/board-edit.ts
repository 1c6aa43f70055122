/**
 * Edits of a board (shared/board.ts), made inside `Automerge.change` on the document: by the peer for
 * the client protocol's board methods, and by any replica that edits a board itself (its changes then
 * go to the peer with `doc.applyChanges`, as a text document's do). Each is given the draft `d` and
 * `board`, the board as people see it in the document the change starts from (`readBoard` of the
 * document, not of the draft: reading through the draft costs about 75 times more), so it places cards
 * where people see them; `changeBoard` does both. Each fails with a GrapevineError a client can act
 * on, before writing anything. Ids of new cards and columns are the caller's (`newBoardItemId`).
 */
import * as A from '@automerge/automerge'
import { GrapevineError } from './protocol.ts'
import { BOARD_KIND, type Board, type BoardContent, type CardData, readBoard } from './board.ts'
import { keyBetween, spreadKeys } from './board-position.ts'
import { MAX_BOARD_CARDS, MAX_BOARD_COLUMNS, MAX_POSITION_CHARS } from './limits.ts'

/** Where a card (or column) goes in its list: before or after another, at an index, or (none given) at the end. */
export interface Place {
  before?: string
  after?: string
  index?: number
}

export interface NewCard {
  title: string
  description?: string
  assignee?: string | null
  due?: string | null
  labels?: string[]
  createdAt: number
  createdBy: string
}

export interface CardPatch {
  title?: string
  description?: string
  assignee?: string | null
  due?: string | null
  labels?: string[]
}

/** How scalar fields are written: whole, one operation, last writer wins (see `WholeString`). */
const whole = (s: string): A.ImmutableString => new A.ImmutableString(s)

/** A random id for a card or column: 16 hex digits. */
export function newBoardItemId(random: (bytes: Uint8Array) => Uint8Array): string {
  return [...random(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** A change of a board document: `fn` gets the draft and the board as it is before the change. */
export function changeBoard<T>(doc: A.Doc<T>, fn: (d: BoardContent, board: Board) => void): A.Doc<T> {
  const board = readBoard(doc)
  return A.change(doc, (d) => fn(d as unknown as BoardContent, board))
}

/** A new board's content: its title and its columns, in order. */
export function initBoard(d: BoardContent, title: string, columns: { id: string; name: string }[]): void {
  d.kind = BOARD_KIND
  d.title = title
  d.deleted = false
  d.columns = {}
  d.cards = {}
  const keys = spreadKeys(columns.length)
  columns.forEach((c, i) => {
    d.columns[c.id] = { name: whole(c.name), pos: whole(keys[i]!) }
  })
}

export function addCard(d: BoardContent, board: Board, id: string, columnId: string, card: NewCard, place: Place = {}): void {
  if (Object.hasOwn(cardsOf(d), id)) throw new GrapevineError('conflict', `A card ${id} exists already.`)
  const count = board.columns.reduce((n, c) => n + c.cards.length, 0) + board.hidden
  if (count >= MAX_BOARD_CARDS) throw new GrapevineError('too-large', `A board holds at most ${MAX_BOARD_CARDS} cards.`)
  const column = realColumn(board, columnId)
  const at = indexFor(column.cards, place, 'card')
  // A board whose cards are not a map (a damaged one) shows none: they start again.
  if (!isMap(d.cards)) d.cards = {}
  d.cards[id] = {
    title: card.title,
    description: card.description ?? '',
    column: whole(column.id),
    pos: whole('V'),
    assignee: card.assignee ? whole(card.assignee) : null,
    due: card.due ? whole(card.due) : null,
    labels: Object.fromEntries((card.labels ?? []).map((l) => [l, true as const])),
    createdAt: card.createdAt,
    createdBy: whole(card.createdBy),
  }
  place_(d, column.id, column.cards, id, at)
}

export function updateCard(d: BoardContent, id: string, patch: CardPatch): void {
  const raw = cardsOf(d)[id]
  if (!isMap(raw)) throw notFound('card', id)
  const card = raw as Partial<CardData>
  for (const field of ['title', 'description'] as const) {
    const value = patch[field]
    if (value === undefined) continue
    if (typeof card[field] === 'string') A.updateText(d, ['cards', id, field], value)
    else card[field] = value
  }
  if (patch.assignee !== undefined) card.assignee = patch.assignee === null ? null : whole(patch.assignee)
  if (patch.due !== undefined) card.due = patch.due === null ? null : whole(patch.due)
  if (patch.labels !== undefined) {
    const wanted = new Set(patch.labels)
    if (!isMap(card.labels)) card.labels = {}
    const labels = card.labels
    for (const l of Object.keys(labels)) if (!wanted.has(l) || labels[l] !== true) delete labels[l]
    for (const l of wanted) if (labels[l] !== true) labels[l] = true
  }
}

/** Moves a card to `columnId`, at `place` among the cards there. */
export function moveCard(d: BoardContent, board: Board, id: string, columnId: string, place: Place = {}): void {
  if (!board.columns.some((c) => c.cards.some((k) => k.id === id))) throw notFound('card', id)
  const column = realColumn(board, columnId)
  const others = column.cards.filter((k) => k.id !== id)
  place_(d, column.id, others, id, indexFor(others, place, 'card'))
}

/** Puts card `id` at `at` among `others` (the column's cards in order, without it). */
function place_(d: BoardContent, columnId: string, others: { id: string; pos: string | null }[], id: string, at: number): void {
  const keys = placeAt(others, at)
  if (typeof keys === 'string') {
    // Column and key as a pair: concurrent moves of the card then resolve to one writer's whole move.
    setPlace(d.cards[id]!, columnId, keys)
    return
  }
  const order = others.map((k) => k.id)
  order.splice(at, 0, id)
  for (const [i, cid] of order.entries()) setPlace(d.cards[cid]!, columnId, keys[i]!)
}

/**
 * Sets a card's column and key as a pair: each removed, then set, so both are written even where a value
 * stays the same (Automerge writes nothing for an unchanged value). Two concurrent moves of one card
 * then write the same four operations each, and Automerge picks the same writer for both fields.
 */
function setPlace(card: CardData, columnId: string, pos: string): void {
  const c = card as Partial<CardData>
  delete c.column
  c.column = whole(columnId)
  delete c.pos
  c.pos = whole(pos)
}

export function deleteCard(d: BoardContent, id: string): void {
  if (!Object.hasOwn(cardsOf(d), id)) throw notFound('card', id)
  delete d.cards[id]
}

export function addColumn(d: BoardContent, board: Board, id: string, name: string, index?: number): void {
  if (Object.hasOwn(columnsOf(d), id)) throw new GrapevineError('conflict', `A column ${id} exists already.`)
  const columns = board.columns.filter((c) => !c.implicit)
  if (columns.length >= MAX_BOARD_COLUMNS) throw new GrapevineError('too-large', `A board has at most ${MAX_BOARD_COLUMNS} columns.`)
  const at = indexFor(columns, { index: index ?? columns.length }, 'column')
  if (!isMap(d.columns)) d.columns = {}
  d.columns[id] = { name: whole(name), pos: whole('V') }
  placeColumn(d, columns, id, at)
}

export function renameColumn(d: BoardContent, board: Board, id: string, name: string): void {
  realColumn(board, id)
  d.columns[id]!.name = whole(name)
}

export function moveColumn(d: BoardContent, board: Board, id: string, index: number): void {
  const column = realColumn(board, id)
  const others = board.columns.filter((c) => !c.implicit && c !== column)
  placeColumn(d, others, id, indexFor(others, { index }, 'column'))
}

function placeColumn(d: BoardContent, others: { id: string; pos: string | null }[], id: string, at: number): void {
  const keys = placeAt(others, at)
  if (typeof keys === 'string') {
    d.columns[id]!.pos = whole(keys)
    return
  }
  const order = others.map((c) => c.id)
  order.splice(at, 0, id)
  order.forEach((cid, i) => {
    d.columns[cid]!.pos = whole(keys[i]!)
  })
}

/** Deletes a column; its cards go to the end of the first column left. Returns how many moved. */
export function deleteColumn(d: BoardContent, board: Board, id: string): number {
  const column = realColumn(board, id)
  const rest = board.columns.filter((c) => c !== column && !c.implicit)
  if (rest.length === 0) throw new GrapevineError('conflict', 'A board keeps at least one column.')
  const target = rest[0]!
  const order = [...target.cards, ...column.cards].map((k) => k.id)
  const keys = spreadKeys(order.length)
  for (const [i, cid] of order.entries()) setPlace(d.cards[cid]!, target.id, keys[i]!)
  delete d.columns[id]
  return column.cards.length
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const cardsOf = (d: BoardContent): Record<string, unknown> => (isMap(d.cards) ? d.cards : {})
const columnsOf = (d: BoardContent): Record<string, unknown> => (isMap(d.columns) ? d.columns : {})
const notFound = (what: string, id: string): GrapevineError => new GrapevineError('not-found', `No ${what} ${id} on this board.`)

function realColumn(board: Board, id: string): Board['columns'][number] {
  const column = board.columns.find((c) => c.id === id && !c.implicit)
  if (!column) throw notFound('column', id)
  return column
}

function indexFor(list: { id: string }[], place: Place, what: string): number {
  const ref = place.before ?? place.after
  if (ref !== undefined) {
    const i = list.findIndex((x) => x.id === ref)
    if (i < 0)
      throw new GrapevineError('not-found', `No ${what} ${ref} there to place it ${place.before !== undefined ? 'before' : 'after'}.`)
    return place.before !== undefined ? i : i + 1
  }
  if (place.index === undefined) return list.length
  return Math.max(0, Math.min(list.length, Math.trunc(place.index)))
}

/**
 * The key for an item put at `at` among `list` (in order, without it); or, when its neighbours tie
 * or have no valid key, or the key would be too long, fresh keys for the whole list with it inserted.
 */
function placeAt(list: { pos: string | null }[], at: number): string | string[] {
  const prev = at > 0 ? list[at - 1]!.pos : null
  const next = at < list.length ? list[at]!.pos : null
  const prevOk = at === 0 || prev !== null
  const nextOk = at === list.length || next !== null
  if (prevOk && nextOk && (prev === null || next === null || prev < next)) {
    const key = keyBetween(prev, next)
    if (key.length <= MAX_POSITION_CHARS) return key
  }
  return spreadKeys(list.length + 1)
}
