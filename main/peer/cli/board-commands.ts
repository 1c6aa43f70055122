/**
 * CLI commands for task boards (shared/board.ts): boards, cards and columns, and "my tasks". Boards,
 * cards and columns are named by id, id prefix (4+ characters) or exact title/name, as documents are.
 */
import { type CardView, isDueDate } from '../../../shared/board.ts'
import { type BoardView, GrapevineError } from '../../../shared/protocol.ts'
import type { DocumentSummary } from '../../../shared/types.ts'
import { arg, type CommandContext, findMember, print, UsageError, when, workspaceId } from './commands.ts'

type Command = { usage: string; run: (ctx: CommandContext) => Promise<void> }

/** A board of the workspace by id, id prefix (4+ characters) or exact title. */
async function findBoard(ctx: CommandContext, ref: string): Promise<DocumentSummary> {
  const docs = await ctx.client.request('doc.list', { workspaceId: await workspaceId(ctx) })
  const match = (d: DocumentSummary) => d.id === ref || (ref.length >= 4 && d.id.startsWith(ref)) || d.title === ref
  const hits = docs.filter((d) => d.kind === 'board' && match(d))
  if (hits.length === 1) return hits[0]!
  if (hits.length > 1) throw new UsageError(`"${ref}" matches ${hits.length} boards; use more of the id`)
  if (docs.some(match)) throw new GrapevineError('not-found', `"${ref}" is a text document, not a board (see \`board list\`).`)
  throw new GrapevineError('not-found', `No board "${ref}" in this workspace (see \`board list\`).`)
}

async function readBoard(ctx: CommandContext, ref: string): Promise<BoardView> {
  return ctx.client.request('board.read', { docId: (await findBoard(ctx, ref)).id })
}

function findCard(board: BoardView, ref: string): CardView {
  const cards = board.columns.flatMap((c) => c.cards)
  const byId = cards.filter((c) => c.id === ref || (ref.length >= 4 && c.id.startsWith(ref)))
  const hits = byId.length ? byId : cards.filter((c) => c.title === ref)
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0) throw new GrapevineError('not-found', `No card "${ref}" on "${board.title}" (see \`card list\`).`)
  throw new UsageError(`"${ref}" matches ${hits.length} cards; use its id (${hits.map((c) => c.id.slice(0, 8)).join(', ')})`)
}

function findColumn(board: BoardView, ref: string): BoardView['columns'][number] {
  const columns = board.columns.filter((c) => !c.implicit)
  const byId = columns.filter((c) => c.id === ref || (ref.length >= 4 && c.id.startsWith(ref)))
  const byName = columns.filter((c) => c.name === ref)
  const hits = byId.length ? byId : byName.length ? byName : columns.filter((c) => c.name.toLowerCase() === ref.toLowerCase())
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0)
    throw new GrapevineError('not-found', `No column "${ref}" on "${board.title}" (columns: ${columns.map((c) => c.name).join(', ')}).`)
  throw new UsageError(`"${ref}" matches ${hits.length} columns; use its id`)
}

/** --position N (1 is the top) as an index. */
function position(ctx: CommandContext): number | undefined {
  const p = ctx.opts.position
  if (p === undefined) return undefined
  if (!/^\d+$/.test(p) || Number(p) < 1) throw new UsageError(`--position takes a place from 1 (the top), not "${p}"`)
  return Number(p) - 1
}

/** Where --before or --position put a card (neither: the end). */
function place(ctx: CommandContext, board: BoardView): { before?: string; index?: number } {
  if (ctx.opts.before !== undefined && ctx.opts.position !== undefined) throw new UsageError('give --before or --position, not both')
  if (ctx.opts.before !== undefined) return { before: findCard(board, ctx.opts.before).id }
  const index = position(ctx)
  return index === undefined ? {} : { index }
}

/** --due, checked here so the message says which option; `none` clears where `clearable`. */
function due(ctx: CommandContext, clearable: boolean): string | null | undefined {
  const d = ctx.opts.due
  if (d === undefined) return undefined
  if (clearable && d === 'none') return null
  if (!isDueDate(d)) throw new UsageError(`--due takes a date as YYYY-MM-DD${clearable ? ' (or none)' : ''}, not "${d}"`)
  return d
}

async function assignee(ctx: CommandContext, ws: string, clearable: boolean): Promise<string | null | undefined> {
  const a = ctx.opts.assignee
  if (a === undefined) return undefined
  if (clearable && a === 'none') return null
  return (await findMember(ctx, ws, a)).deviceId
}

function labels(ctx: CommandContext, clearable: boolean): string[] | undefined {
  const ls = ctx.opts.labels
  if (ls === undefined) return undefined
  if (clearable && ls.length === 1 && ls[0] === 'none') return []
  return [...new Set(ls.map((l) => l.trim()))]
}

function oneColumn(ctx: CommandContext): string | undefined {
  if (ctx.opts.columns.length > 1) throw new UsageError('give one --column for a card')
  return ctx.opts.columns[0]
}

async function names(ctx: CommandContext, ws: string): Promise<Map<string, string>> {
  return new Map((await ctx.client.request('workspace.members', { workspaceId: ws })).map((m) => [m.deviceId, m.name]))
}

function cardLine(card: CardView, who: Map<string, string>): string {
  const extra = [
    card.assignee ? `@${who.get(card.assignee) ?? card.assignee.slice(0, 12)}` : '',
    card.due ? `due ${card.due}` : '',
    ...card.labels.map((l) => `#${l}`),
    card.clipped ? '(clipped: the board holds more text than one view shows)' : '',
  ].filter(Boolean)
  return `${card.id.slice(0, 8)}  ${card.title}${extra.length ? `  ${extra.join('  ')}` : ''}`
}

function boardLines(board: BoardView, who: Map<string, string>): string[] {
  const lines = [board.title || '(untitled board)']
  for (const col of board.columns) {
    lines.push(`${col.name} (${col.cards.length})${col.implicit ? '  [no column: add one]' : ''}`)
    for (const card of col.cards) {
      lines.push(`  ${cardLine(card, who)}`)
      const first = card.description.split('\n').find((l) => l.trim())
      if (first) lines.push(`            ${first.trim()}`)
    }
  }
  if (board.hidden) lines.push(`(${board.hidden} more cards not shown: over the limit of one board)`)
  return lines
}

export const BOARD_COMMANDS: Record<string, Command> = {
  'board create': {
    usage: 'board create <title> [--column C]...   a task board (columns: To do, Doing, Done unless --column)',
    async run(ctx) {
      const d = await ctx.client.request('board.create', {
        workspaceId: await workspaceId(ctx),
        title: arg(ctx, 0, 'title'),
        ...(ctx.opts.columns.length ? { columns: ctx.opts.columns } : {}),
      })
      print(ctx, d, () => [`created board ${d.id}  ${d.title}`])
    },
  },
  'board list': {
    usage: 'board list                     task boards of the workspace',
    async run(ctx) {
      const docs = (await ctx.client.request('doc.list', { workspaceId: await workspaceId(ctx) })).filter((d) => d.kind === 'board')
      print(ctx, docs, () =>
        docs.length ? docs.map((d) => `${d.id}  ${d.title || '(untitled)'}  ${when(d.lastChangeAt)}`) : ['no boards'],
      )
    },
  },
  'card list': {
    usage: 'card list <board>              the columns and their cards, in order',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const who = ctx.opts.json ? new Map<string, string>() : await names(ctx, board.workspaceId)
      print(ctx, board, () => boardLines(board, who))
    },
  },
  'card add': {
    usage:
      'card add <board> <title> [--column C] [--assignee M] [--due YYYY-MM-DD] [--label L]... [--description D]\n' +
      '         [--before CARD | --position N]   a card (default: at the end of the first column)',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const title = arg(ctx, 1, 'card title')
      const columnRef = oneColumn(ctx)
      const column = columnRef === undefined ? undefined : findColumn(board, columnRef).id
      const r = await ctx.client.request('card.add', {
        docId: board.docId,
        title,
        column,
        assignee: await assignee(ctx, board.workspaceId, false),
        due: due(ctx, false),
        labels: labels(ctx, false),
        description: ctx.opts.description,
        ...place(ctx, board),
      })
      const where = r.board.columns.find((c) => c.cards.some((k) => k.id === r.cardId))
      print(ctx, r, () => [`added card ${r.cardId}  ${title}  in ${where?.name ?? '?'}`])
    },
  },
  'card move': {
    usage: 'card move <board> <card> <column> [--before CARD | --position N]   to a column, or within one (default: its end)',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const card = findCard(board, arg(ctx, 1, 'card'))
      const column = findColumn(board, arg(ctx, 2, 'column'))
      const r = await ctx.client.request('card.move', { docId: board.docId, cardId: card.id, column: column.id, ...place(ctx, board) })
      const at = r.board.columns.find((c) => c.id === column.id)?.cards.findIndex((k) => k.id === card.id) ?? -1
      print(ctx, r, () => [`moved ${card.id.slice(0, 8)}  ${card.title}  to ${column.name}, place ${at + 1}`])
    },
  },
  'card edit': {
    usage:
      'card edit <board> <card> [--title T] [--description D] [--assignee M|none] [--due YYYY-MM-DD|none] [--label L|none]...\n' +
      '                                 change a card (--label: its labels, all of them)',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const card = findCard(board, arg(ctx, 1, 'card'))
      const patch = {
        title: ctx.opts.title,
        description: ctx.opts.description,
        assignee: await assignee(ctx, board.workspaceId, true),
        due: due(ctx, true),
        labels: labels(ctx, true),
      }
      if (Object.values(patch).every((v) => v === undefined))
        throw new UsageError('nothing to change: give --title, --description, --assignee, --due or --label')
      const r = await ctx.client.request('card.update', { docId: board.docId, cardId: card.id, ...patch })
      const now = r.board.columns.flatMap((c) => c.cards).find((k) => k.id === card.id)
      const who = ctx.opts.json ? new Map<string, string>() : await names(ctx, board.workspaceId)
      print(ctx, r, () => [`changed ${now ? cardLine(now, who) : card.id}`])
    },
  },
  'card delete': {
    usage: 'card delete <board> <card>',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const card = findCard(board, arg(ctx, 1, 'card'))
      const r = await ctx.client.request('card.delete', { docId: board.docId, cardId: card.id })
      print(ctx, r, () => [`deleted card ${card.id.slice(0, 8)}  ${card.title}`])
    },
  },
  'column add': {
    usage: 'column add <board> <name> [--position N]   a column (default: the last)',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const r = await ctx.client.request('column.add', { docId: board.docId, name: arg(ctx, 1, 'column name'), index: position(ctx) })
      print(ctx, r, () => [`added column ${r.columnId}  ${ctx.args[1]}`])
    },
  },
  'column rename': {
    usage: 'column rename <board> <column> <name>',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const column = findColumn(board, arg(ctx, 1, 'column'))
      const r = await ctx.client.request('column.rename', { docId: board.docId, columnId: column.id, name: arg(ctx, 2, 'new name') })
      print(ctx, r, () => [`renamed column ${column.name} to ${ctx.args[2]}`])
    },
  },
  'column delete': {
    usage: 'column delete <board> <column>   its cards go to the end of the first column left',
    async run(ctx) {
      const board = await readBoard(ctx, arg(ctx, 0, 'board'))
      const column = findColumn(board, arg(ctx, 1, 'column'))
      const r = await ctx.client.request('column.delete', { docId: board.docId, columnId: column.id })
      const to = r.board.columns[0]?.name ?? '?'
      print(ctx, r, () => [`deleted column ${column.name}${r.moved ? `; ${r.moved} card${r.moved === 1 ? '' : 's'} moved to ${to}` : ''}`])
    },
  },
  tasks: {
    usage: 'tasks [--workspace W]          cards assigned to you, on every board (of every workspace unless --workspace)',
    async run(ctx) {
      const scope = ctx.opts.workspace === undefined ? undefined : await workspaceId(ctx)
      const tasks = await ctx.client.request('tasks.mine', scope ? { workspaceId: scope } : {})
      // Every one is assigned to you: the line leaves that out.
      const line = (t: (typeof tasks)[number]) => `${t.boardTitle} / ${t.columnName}  ${cardLine({ ...t.card, assignee: null }, new Map())}`
      print(ctx, tasks, () => (tasks.length ? tasks.map(line) : ['no cards assigned to you']))
    },
  },
}
