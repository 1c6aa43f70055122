/**
 * Where a moved card goes, as `card.move` takes it, and the board as it looks right after the move
 * (shown until the peer's answer replaces it). Pure: the drag and drop and the keyboard both use it.
 */
import type { Board } from '../../../shared/board.ts'
import { dateFormat } from './format.ts'

/** `card.move`'s place: before or after a card of the target column (what the person saw), or an index. */
export interface MovePlace {
  before?: string
  after?: string
  index?: number
}

/** The target column's cards in order, without the moved card (the list `index` counts in). */
export function othersIn(board: Board, columnId: string, cardId: string): { id: string }[] {
  return board.columns.find((c) => c.id === columnId)?.cards.filter((k) => k.id !== cardId) ?? []
}

/**
 * Where a pointer at `y` drops among cards whose vertical middles are `middles` (in order, the moved card
 * left out): the number of cards it is below.
 */
export function dropIndex(middles: readonly number[], y: number): number {
  let i = 0
  while (i < middles.length && y > middles[i]!) i++
  return i
}

/**
 * The place for index `at` among `others`: before the card now there, else after the last one, else (an
 * empty column) index 0. Named neighbours keep the intent when a teammate's move shifts the indexes.
 */
export function placeAt(others: readonly { id: string }[], at: number): MovePlace {
  if (at < others.length) return { before: others[Math.max(0, at)]!.id }
  if (others.length > 0) return { after: others[others.length - 1]!.id }
  return { index: 0 }
}

/** Whether moving the card to `at` in `columnId` leaves it where it is. */
export function staysPut(board: Board, cardId: string, columnId: string, at: number): boolean {
  const column = board.columns.find((c) => c.cards.some((k) => k.id === cardId))
  if (!column || column.id !== columnId) return false
  return column.cards.findIndex((k) => k.id === cardId) === at
}

/** The board with the card moved to `at` among the other cards of `columnId` (unchanged if either is not there). */
export function moveLocally(board: Board, cardId: string, columnId: string, at: number): Board {
  const card = board.columns.flatMap((c) => c.cards).find((k) => k.id === cardId)
  if (!card || !board.columns.some((c) => c.id === columnId)) return board
  const columns = board.columns.map((c) => {
    const cards = c.cards.filter((k) => k.id !== cardId)
    if (c.id === columnId) cards.splice(Math.max(0, Math.min(at, cards.length)), 0, { ...card, column: columnId })
    return { ...c, cards }
  })
  return { ...board, columns }
}

/** The board with a column moved to `index` among the others (as `column.move` counts). */
export function moveColumnLocally(board: Board, columnId: string, index: number): Board {
  const column = board.columns.find((c) => c.id === columnId)
  if (!column) return board
  const columns = board.columns.filter((c) => c !== column)
  columns.splice(Math.max(0, Math.min(index, columns.length)), 0, column)
  return { ...board, columns }
}

/** "Moved “Fix login” to Doing, 2 of 3." for screen readers. */
export function moveAnnouncement(board: Board, cardId: string): string {
  for (const c of board.columns) {
    const i = c.cards.findIndex((k) => k.id === cardId)
    if (i >= 0) return `Moved “${c.cards[i]!.title || 'Untitled card'}” to ${c.name}, ${i + 1} of ${c.cards.length}.`
  }
  return ''
}

/** Today as YYYY-MM-DD in local time (due dates are calendar days). */
export function localDay(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`
}

/** "Due 31 Jan" / "Due 31 Jan 2027", and whether it is past (a due date of today is not overdue). */
export function dueLabel(due: string, today: string): { text: string; overdue: boolean; today: boolean } {
  const [y, m, d] = due.split('-').map(Number) as [number, number, number]
  const date = new Date(y, m - 1, d)
  const sameYear = today.slice(0, 4) === due.slice(0, 4)
  const text = dateFormat({ day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) }).format(date)
  return { text, overdue: due < today, today: due === today }
}
