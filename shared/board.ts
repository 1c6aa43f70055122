/**
 * A task board: a Grapevine document like any other (same Automerge document, signing, sealing, sync
 * and history), marked `kind: 'board'`, holding columns and cards. Built to converge:
 *
 * - Cards are a map keyed by card id, never a list, so no merge can hold a card twice; a card's place
 *   is two fields of its own, `column` and `pos` (an order key, board-position.ts), each set whole in
 *   one operation, the two one after the other on every move: concurrent moves of one card resolve
 *   last-writer-wins to one writer's move (Automerge orders the two pairs of operations alike), and can
 *   never copy or drop the card.
 * - Columns are a map too, each with its own order key. A card whose column is gone (deleted
 *   concurrently, or never there) is shown in the first column: nothing is ever lost from view.
 * - Equal order keys (two peers inserting at one place) are ordered by id, so every peer orders alike.
 * - Title and description are Automerge text (edited with `updateText`): concurrent edits of one
 *   description merge as in a text document. Column names, assignee, due date and order keys are
 *   `WholeString`s: a concurrent change of one of them is last-writer-wins. Labels are a map of
 *   label → true, so concurrent additions of different labels both stay.
 *
 * `readBoard` turns the document (teammates' input: untrusted) into a checked plain view; every field
 * is type-checked and capped, garbage is ignored. Edits are in board-edit.ts.
 */
import { z } from 'zod'
import {
  MAX_BOARD_CARDS,
  MAX_BOARD_COLUMNS,
  MAX_CARD_DESCRIPTION_CHARS,
  MAX_CARD_LABELS,
  MAX_CARD_TITLE_CHARS,
  MAX_LABEL_CHARS,
  MAX_NAME_CHARS,
  MAX_TITLE_CHARS,
  MAX_BOARD_TEXT_CHARS,
  CLIPPED_TITLE_CHARS,
} from './limits.ts'
import { isPositionKey } from './board-position.ts'

export const BOARD_KIND = 'board'
/** What a document is; a document without a `kind` is text. */
export const DOC_KINDS = ['text', 'board'] as const
export type DocKind = (typeof DOC_KINDS)[number]

/**
 * A string Automerge keeps whole (its `ImmutableString`, as it reads back): set in one operation, last
 * writer wins, never merged character by character. Order keys, column ids, names, assignee and due
 * date are kept so; a plain string (Automerge text, as another replica may write) reads the same.
 */
export interface WholeString {
  readonly val: string
}
/** One column inside Automerge. */
export interface ColumnData {
  name: WholeString
  pos: WholeString
}
/** One card inside Automerge. */
export interface CardData {
  /** Automerge text: concurrent edits merge. */
  title: string
  /** Automerge text: concurrent edits merge. */
  description: string
  column: WholeString
  pos: WholeString
  /** A member's device id. */
  assignee: WholeString | null
  /** YYYY-MM-DD */
  due: WholeString | null
  labels: Record<string, true>
  createdAt: number
  createdBy: WholeString
}
/** The shape of a board document inside Automerge (a text document's is doc-content.ts). */
export interface BoardContent {
  kind: typeof BOARD_KIND
  title: string
  deleted?: boolean
  columns: Record<string, ColumnData>
  cards: Record<string, CardData>
}

/** Ids of cards and columns (random hex where this version makes them). */
export const boardItemIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a card or column id')
/** A due date: a calendar day, YYYY-MM-DD. */
export const dueDateSchema = z.string().refine(isDueDate, 'not a date (YYYY-MM-DD)')
const deviceId = z.string().regex(/^[A-Za-z0-9]{10,128}$/, 'not a device id')
export const labelSchema = z.string().trim().min(1).max(MAX_LABEL_CHARS)
export const columnNameSchema = z.string().trim().min(1).max(MAX_NAME_CHARS)
export const cardTitleSchema = z.string().trim().min(1).max(MAX_CARD_TITLE_CHARS)

export const cardViewSchema = z.object({
  id: boardItemIdSchema,
  title: z.string(),
  description: z.string(),
  /** The column the card shows in (the first column if its own is gone). */
  column: boardItemIdSchema,
  /** Its order key (opaque; null if the stored one is not valid: it then sorts last). */
  pos: z.string().nullable(),
  assignee: deviceId.nullable(),
  due: z.string().nullable(),
  labels: z.array(z.string()),
  createdAt: z.number(),
  createdBy: z.string().nullable(),
  /** Past the board's text budget (MAX_BOARD_TEXT_CHARS): its title is cut, its description and labels not shown. */
  clipped: z.boolean(),
})
export type CardView = z.output<typeof cardViewSchema>

export const columnViewSchema = z.object({
  id: boardItemIdSchema,
  name: z.string(),
  /** Its order key (opaque; null if the stored one is not valid, and for the stand-in). */
  pos: z.string().nullable(),
  /** True for the stand-in that holds the cards of a board left with no column; it cannot be edited. */
  implicit: z.boolean(),
  cards: z.array(cardViewSchema),
})
export type ColumnView = z.output<typeof columnViewSchema>

/** A board as people see it: columns in order, each with its cards in order. */
export const boardSchema = z.object({
  title: z.string(),
  deleted: z.boolean(),
  columns: z.array(columnViewSchema),
  /** Cards not shown: over MAX_BOARD_CARDS (only a damaged or hostile board has any). */
  hidden: z.number().int().nonnegative(),
})
export type Board = z.output<typeof boardSchema>

/** Id of the stand-in column of a board that has none (never a real column's: those are hex). */
export const IMPLICIT_COLUMN_ID = '_cards'

export function isDueDate(s: unknown): s is string {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false
  const [y, m, d] = s.split('-').map(Number) as [number, number, number]
  const t = new Date(Date.UTC(y, m - 1, d))
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
}

/** Whether an Automerge document (as a plain object) is a board. */
export function isBoard(doc: unknown): boolean {
  return isObject(doc) && doc['kind'] === BOARD_KIND
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const ID = /^[A-Za-z0-9_-]{1,64}$/
const DEVICE = /^[A-Za-z0-9]{10,128}$/
/** A string field's value, written as text or whole; undefined for anything else. */
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : isObject(v) && typeof v['val'] === 'string' && Object.keys(v).length <= 1 ? v['val'] : undefined
const str = (v: unknown, max: number): string => cut(text(v) ?? '', max)
const key = (v: unknown): string | null => {
  const k = text(v)
  return isPositionKey(k) ? k : null
}
const matching = (v: unknown, re: RegExp): string | null => {
  const s = text(v)
  return s !== undefined && re.test(s) ? s : null
}
const entries = (v: unknown): [string, Record<string, unknown>][] =>
  isObject(v) ? Object.entries(v).filter((e): e is [string, Record<string, unknown>] => ID.test(e[0]) && isObject(e[1])) : []

/** Order: valid keys ascending, then invalid ones; ties by id. The same on every peer. */
function byPlace(a: { id: string; pos: string | null }, b: { id: string; pos: string | null }): number {
  if (a.pos !== b.pos) {
    if (a.pos === null) return 1
    if (b.pos === null) return -1
    return a.pos < b.pos ? -1 : 1
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The board in a document, checked: what every peer and every window shows for the same heads. */
export function readBoard(doc: unknown): Board {
  const d = isObject(doc) ? doc : {}
  const columns = entries(d['columns'])
    .map(([id, c]) => ({ id, name: str(c['name'], MAX_NAME_CHARS), pos: key(c['pos']) }))
    .sort(byPlace)
    .slice(0, MAX_BOARD_COLUMNS)
  const shown: ColumnView[] = columns.map((c) => ({ id: c.id, name: c.name, pos: c.pos, implicit: false, cards: [] }))
  if (shown.length === 0) shown.push({ id: IMPLICIT_COLUMN_ID, name: 'Cards', pos: null, implicit: true, cards: [] })
  const byId = new Map(shown.map((c) => [c.id, c]))
  const all = entries(d['cards']).sort((a, b) => (a[0] < b[0] ? -1 : 1))
  for (const [id, c] of all.slice(0, MAX_BOARD_CARDS)) {
    const columnId = text(c['column'])
    const own = columnId === undefined ? undefined : byId.get(columnId)
    const column = own && !own.implicit ? own : shown[0]!
    column.cards.push({
      id,
      title: str(c['title'], MAX_CARD_TITLE_CHARS),
      description: str(c['description'], MAX_CARD_DESCRIPTION_CHARS),
      column: column.id,
      pos: key(c['pos']),
      assignee: matching(c['assignee'], DEVICE),
      due: isDueDate(text(c['due'])) ? text(c['due'])! : null,
      labels: readLabels(c['labels']),
      createdAt: typeof c['createdAt'] === 'number' && Number.isFinite(c['createdAt']) ? c['createdAt'] : 0,
      createdBy: matching(c['createdBy'], DEVICE),
      clipped: false,
    })
  }
  for (const c of shown) c.cards.sort(byPlace)
  clip(shown)
  return {
    title: str(d['title'], MAX_TITLE_CHARS),
    deleted: d['deleted'] === true,
    columns: shown,
    hidden: Math.max(0, all.length - MAX_BOARD_CARDS),
  }
}

/** Keeps the cards' text within MAX_BOARD_TEXT_CHARS, in board order: a card that does not fit is clipped. */
function clip(columns: ColumnView[]): void {
  let left = MAX_BOARD_TEXT_CHARS
  for (const card of columns.flatMap((c) => c.cards)) {
    const size = card.title.length + card.description.length + card.labels.reduce((n, l) => n + l.length, 0)
    if (size <= left) left -= size
    else Object.assign(card, { title: cut(card.title, CLIPPED_TITLE_CHARS), description: '', labels: [], clipped: true })
  }
}

function readLabels(v: unknown): string[] {
  if (!isObject(v)) return []
  return Object.keys(v)
    .filter((l) => v[l] === true && l.trim() === l && l.length > 0 && l.length <= MAX_LABEL_CHARS)
    .sort()
    .slice(0, MAX_CARD_LABELS)
}

/** The board as text, for search and for clients that show only text: a heading per column, a line per card. */
export function boardText(board: Board): string {
  const lines: string[] = []
  for (const col of board.columns) {
    lines.push(`## ${col.name}`, '')
    for (const card of col.cards) {
      const extra = [card.due ? `due ${card.due}` : '', ...card.labels.map((l) => `#${l}`)].filter(Boolean).join(' ')
      lines.push(`- ${card.title}${extra ? ` (${extra})` : ''}`)
      for (const l of card.description.split('\n')) if (l.trim()) lines.push(`  ${l}`)
    }
    lines.push('')
  }
  return lines.join('\n')
}

/**
 * Where a keyboard move takes a card (for `card.move`): up and down within its column, left and right to
 * the neighbouring column at the same row (or its end); null where it cannot go. `index` counts the
 * cards of the target column without the card itself, as `card.move` does.
 */
export function keyboardMove(
  board: Board,
  cardId: string,
  direction: 'up' | 'down' | 'left' | 'right',
): { column: string; index: number } | null {
  const columns = board.columns.filter((c) => !c.implicit)
  const from = columns.findIndex((c) => c.cards.some((k) => k.id === cardId))
  if (from < 0) return null
  const column = columns[from]!
  const row = column.cards.findIndex((k) => k.id === cardId)
  if (direction === 'up') return row > 0 ? { column: column.id, index: row - 1 } : null
  if (direction === 'down') return row < column.cards.length - 1 ? { column: column.id, index: row + 1 } : null
  const to = columns[direction === 'left' ? from - 1 : from + 1]
  return to ? { column: to.id, index: Math.min(row, to.cards.length) } : null
}

/** At most `max` UTF-16 units, never half of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s
  const head = s.slice(0, max)
  return /[\ud800-\udbff]$/.test(head) ? head.slice(0, -1) : head
}
