/**
 * Task boards at the peer: each board method of the client protocol is one edit of the board document
 * (shared/board-edit.ts) made through `Documents.edit`, so it is signed, sealed, stored and sent like
 * any edit of a text document; reads go through the checked reader (`readBoard`). "My tasks" reads the
 * boards of the workspaces this device reads and keeps the cards assigned to it.
 */
import { randomBytes } from 'node:crypto'
import { type Board, type BoardContent, type CardView, isBoard, readBoard } from '../../../shared/board.ts'
import {
  addCard,
  addColumn,
  type CardPatch,
  deleteCard,
  deleteColumn,
  initBoard,
  moveCard,
  moveColumn,
  newBoardItemId,
  type Place,
  renameColumn,
  updateCard,
} from '../../../shared/board-edit.ts'
import { type BoardView, GrapevineError } from '../../../shared/protocol.ts'
import { READER_ROLES } from '../../../shared/types.ts'
import { MAX_LISTED_TASKS } from '../../../shared/limits.ts'
import type { DocumentRow } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { Documents } from './documents.ts'
import { InTurn } from '../in-turn.ts'
import { headsKey } from './doc-content.ts'

export const DEFAULT_COLUMNS = ['To do', 'Doing', 'Done']

const newId = (): string => newBoardItemId((b) => randomBytes(b.length))

export interface BoardsComponents {
  documents: Pick<Documents, 'createWith' | 'edit' | 'read' | 'row' | 'heads' | 'list' | 'kindOf'>
  workspaces: Pick<Workspaces, 'state' | 'ids' | 'roleOf'>
  /** This device. */
  self: string
}

export interface Task {
  workspaceId: string
  docId: string
  boardTitle: string
  columnId: string
  columnName: string
  card: CardView
}

/** One board's part of `mine`, and the heads it was read at. */
interface MineOnBoard {
  heads: string
  boardTitle: string
  cards: Omit<Task, 'workspaceId' | 'docId' | 'boardTitle'>[]
}

export class Boards {
  private readonly c: BoardsComponents
  /** Board methods asked through `inOrder`, per document. */
  private readonly turns = new InTurn()
  /**
   * `mine`'s answer per board, with the heads it was read at: a board whose heads have not moved is not
   * read again (any board's change makes the tasks view ask again, which read every board).
   */
  private readonly mineByBoard = new Map<string, MineOnBoard>()

  constructor(components: BoardsComponents) {
    this.c = components
  }

  /**
   * Runs a board method on `docId` once every one asked before on that document has answered, so that
   * answers follow the order asked. A window shows the board of the latest answer it asked for
   * (renderer/src/data/board.ts); a move waits for the workspace's key (`Documents.edit`) while a read does
   * not, so a read asked after a move could answer first, with the board before it, and the window
   * showed the move undone until its next read. A method that fails does not hold up the next.
   */
  inOrder<T>(docId: string, run: () => T | Promise<T>): Promise<T> {
    return this.turns.run(docId, run)
  }

  create(workspaceId: string, title: string, columns: string[] = DEFAULT_COLUMNS): Promise<DocumentRow> {
    const cols = columns.map((name) => ({ id: newId(), name }))
    return this.c.documents.createWith(workspaceId, title, (d) => initBoard(d as unknown as BoardContent, title, cols))
  }

  /** The board as people see it; not-found unless this device may see the document, bad-request unless it is a board. */
  read(docId: string): BoardView {
    const row = this.c.documents.row(docId)
    const board = this.c.documents.read(docId, (doc) => {
      if (!isBoard(doc)) throw new GrapevineError('bad-request', `Document ${docId} is a text document, not a board.`)
      return readBoard(doc)
    })
    return { ...board, docId, workspaceId: row.workspaceId, heads: this.c.documents.heads(docId) }
  }

  async addCard(
    docId: string,
    input: CardPatch & { title: string; column?: string | undefined },
    place: Place,
  ): Promise<{ cardId: string; board: BoardView }> {
    const board = this.read(docId)
    this.checkAssignee(board.workspaceId, input.assignee)
    const column = input.column ?? board.columns.find((c) => !c.implicit)?.id
    if (column === undefined) throw new GrapevineError('conflict', 'This board has no column to add a card to; add a column first.')
    const cardId = newId()
    const card = { ...input, createdAt: Date.now(), createdBy: this.c.self }
    await this.edit(docId, (d, b) => addCard(d, b, cardId, column, card, place))
    return { cardId, board: this.read(docId) }
  }

  async updateCard(docId: string, cardId: string, patch: CardPatch): Promise<{ cardId: string; board: BoardView }> {
    this.checkAssignee(this.read(docId).workspaceId, patch.assignee)
    await this.edit(docId, (d) => updateCard(d, cardId, patch))
    return { cardId, board: this.read(docId) }
  }

  async moveCard(docId: string, cardId: string, column: string, place: Place): Promise<{ cardId: string; board: BoardView }> {
    this.read(docId)
    await this.edit(docId, (d, b) => moveCard(d, b, cardId, column, place))
    return { cardId, board: this.read(docId) }
  }

  async deleteCard(docId: string, cardId: string): Promise<{ cardId: string; board: BoardView }> {
    this.read(docId)
    await this.edit(docId, (d) => deleteCard(d, cardId))
    return { cardId, board: this.read(docId) }
  }

  async addColumn(docId: string, name: string, index?: number): Promise<{ columnId: string; board: BoardView }> {
    this.read(docId)
    const columnId = newId()
    await this.edit(docId, (d, b) => addColumn(d, b, columnId, name, index))
    return { columnId, board: this.read(docId) }
  }

  async renameColumn(docId: string, columnId: string, name: string): Promise<{ columnId: string; board: BoardView }> {
    this.read(docId)
    await this.edit(docId, (d, b) => renameColumn(d, b, columnId, name))
    return { columnId, board: this.read(docId) }
  }

  async moveColumn(docId: string, columnId: string, index: number): Promise<{ columnId: string; board: BoardView }> {
    this.read(docId)
    await this.edit(docId, (d, b) => moveColumn(d, b, columnId, index))
    return { columnId, board: this.read(docId) }
  }

  async deleteColumn(docId: string, columnId: string): Promise<{ columnId: string; moved: number; board: BoardView }> {
    this.read(docId)
    let moved = 0
    await this.edit(docId, (d, b) => {
      moved = deleteColumn(d, b, columnId)
    })
    return { columnId, moved, board: this.read(docId) }
  }

  /** Cards assigned to this device on the boards (not deleted) of these workspaces; boards by title, cards in board order; at most MAX_LISTED_TASKS. */
  mine(workspaceIds: string[]): Task[] {
    const tasks: Task[] = []
    for (const ws of workspaceIds) {
      const role = this.c.workspaces.roleOf(ws, this.c.self)
      if (role === undefined || !READER_ROLES.includes(role)) continue
      const boards = this.c.documents
        .list(ws)
        .filter((r) => !r.deleted && this.c.documents.kindOf(r.id) === 'board')
        .sort((a, b) => a.title.localeCompare(b.title) || (a.id < b.id ? -1 : 1))
      for (const row of boards) {
        const mine = this.mineOn(row)
        if (!mine) continue
        for (const t of mine.cards) {
          tasks.push({ workspaceId: ws, docId: row.id, boardTitle: mine.boardTitle, ...t })
          if (tasks.length >= MAX_LISTED_TASKS) return tasks
        }
      }
    }
    return tasks
  }

  /** The cards of one board assigned to this device (at most MAX_LISTED_TASKS), read again only when its heads moved. */
  private mineOn(row: DocumentRow): MineOnBoard | null {
    const heads = headsKey(row.heads)
    const known = this.mineByBoard.get(row.id)
    if (known?.heads === heads) return known
    const board = this.c.documents.read(row.id, (doc) => (isBoard(doc) ? readBoard(doc) : null))
    if (!board) return null
    const cards: MineOnBoard['cards'] = []
    for (const column of board.columns)
      for (const card of column.cards)
        if (card.assignee === this.c.self && cards.length < MAX_LISTED_TASKS)
          cards.push({ columnId: column.id, columnName: column.name, card })
    const mine = { heads, boardTitle: board.title, cards }
    this.mineByBoard.set(row.id, mine)
    return mine
  }

  /** One edit of the board; `fn` is given the board as it is where the change starts (board-edit.ts). */
  private edit(docId: string, fn: (d: BoardContent, board: Board) => void): Promise<string[]> {
    return this.c.documents.edit(docId, (d, current) => fn(d as unknown as BoardContent, readBoard(current)))
  }

  /** An assignee must be a member who reads the workspace (not a keeper). */
  private checkAssignee(workspaceId: string, assignee: string | null | undefined): void {
    if (assignee === undefined || assignee === null) return
    const member = this.c.workspaces.state(workspaceId)?.members.get(assignee)
    if (!member) throw new GrapevineError('bad-request', `${assignee} is not a member of this workspace: a card is assigned to a member.`)
    if (!READER_ROLES.includes(member.role))
      throw new GrapevineError('bad-request', `${member.name} is a keeper, which cannot read the board.`)
  }
}
