/**
 * A workspace as a folder of Markdown files plus `workspace.json` (what the files are, and the boards
 * whole), and back. Pure (but `importBoard`, which makes a board through the client protocol): the CLI reads and writes the folder, the app downloads it as a .zip
 * and reads files a person picks; both go through these functions, so a folder exported by one
 * imports in the other.
 *
 * Each document is one file, its text exactly as written (Grapevine's documents are Markdown); its title
 * is the file's name, made safe for every desktop file system and unique in the folder, and is kept as
 * written in `workspace.json`. Importing reads every `.md`/`.markdown` file: the title from
 * `workspace.json` when the folder has one that names the file, else from the file name.
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
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
} from './limits.ts'
import { type Board, isDueDate } from './board.ts'
import type { PeerClient } from './protocol.ts'

export const MANIFEST_FILE = 'workspace.json'
/** Files one import takes at most (a folder with more is refused, not cut short). */
export const MAX_IMPORT_FILES = 1000
/** A file larger than this (UTF-8 of the text cap, at worst) is refused before it is read. */
export const MAX_IMPORT_FILE_BYTES = 4 * MAX_TEXT_CHARS
const MARKDOWN = /\.(md|markdown)$/i

/** Whether an import reads this file (by its name): a Markdown file or an export's workspace.json. */
export function importReads(name: string): boolean {
  return MARKDOWN.test(name) || baseName(name) === MANIFEST_FILE
}
const MAX_FILE_NAME_CHARS = 100

export interface ExportedDocument {
  id: string
  title: string
  text: string
  createdAt: number
  lastChangeAt: number
  /** A task board (`board.read`): written into workspace.json's `boards`, not as a Markdown file. */
  board?: Board
}

/**
 * A board as workspace.json keeps it: its columns in order, each with its cards in order. Read back
 * from a file a person picked, so checked and capped like anything else.
 */
const exportedBoardSchema = z.object({
  id: z.string().max(128),
  title: z.string().max(MAX_TITLE_CHARS),
  createdAt: z.number().int().nonnegative(),
  lastChangeAt: z.number().int().nonnegative(),
  columns: z
    .array(
      z.object({
        name: z.string().max(MAX_NAME_CHARS),
        cards: z
          .array(
            z.object({
              title: z.string().max(MAX_CARD_TITLE_CHARS),
              description: z.string().max(MAX_CARD_DESCRIPTION_CHARS),
              assignee: z.string().max(128).nullable(),
              due: z.string().refine(isDueDate, 'not a date').nullable(),
              labels: z.array(z.string().trim().min(1).max(MAX_LABEL_CHARS)).max(MAX_CARD_LABELS),
            }),
          )
          .max(MAX_BOARD_CARDS),
      }),
    )
    .min(1)
    .max(MAX_BOARD_COLUMNS),
})
export type ExportedBoard = z.output<typeof exportedBoardSchema>

export interface ExportFile {
  /** A path inside the export folder, with `/` between parts. */
  path: string
  text: string
}

const manifestSchema = z.object({
  format: z.literal('grapevine-export'),
  version: z.literal(1),
  workspace: z.object({ id: z.string().max(128), name: z.string().max(MAX_TITLE_CHARS) }),
  exportedAt: z.number().int().nonnegative(),
  documents: z
    .array(
      z.object({
        file: z.string().max(MAX_FILE_NAME_CHARS + 16),
        id: z.string().max(128),
        title: z.string().max(MAX_TITLE_CHARS),
        createdAt: z.number().int().nonnegative(),
        lastChangeAt: z.number().int().nonnegative(),
      }),
    )
    .max(100_000),
  /** Task boards (`ExportedBoard`), each checked on its own when imported: one that is not is left out. */
  boards: z.array(z.unknown()).max(100_000),
})
export type ExportManifest = z.output<typeof manifestSchema>

/** The files of an export: one Markdown file per document, then `workspace.json` (with the boards). */
export function exportFiles(workspace: { id: string; name: string }, docs: ExportedDocument[], now = Date.now()): ExportFile[] {
  const taken = new Set<string>([MANIFEST_FILE.toLowerCase()])
  const files: ExportFile[] = []
  const manifest: ExportManifest = { format: 'grapevine-export', version: 1, workspace, exportedAt: now, documents: [], boards: [] }
  for (const d of docs) {
    if (d.board) {
      manifest.boards.push(exportedBoard(d, d.board))
      continue
    }
    const file = uniqueName(fileNameFor(d.title), taken)
    files.push({ path: file, text: d.text })
    manifest.documents.push({ file, id: d.id, title: d.title, createdAt: d.createdAt, lastChangeAt: d.lastChangeAt })
  }
  files.push({ path: MANIFEST_FILE, text: `${JSON.stringify(manifest, null, 2)}\n` })
  return files
}

function exportedBoard(d: ExportedDocument, board: Board): ExportedBoard {
  return {
    id: d.id,
    title: d.title,
    createdAt: d.createdAt,
    lastChangeAt: d.lastChangeAt,
    columns: board.columns.map((c) => ({
      name: c.name,
      cards: c.cards.map((k) => ({ title: k.title, description: k.description, assignee: k.assignee, due: k.due, labels: k.labels })),
    })),
  }
}

/** A file name for a title: safe on Windows, macOS and Linux, at most 100 characters, ending in .md. */
export function fileNameFor(title: string): string {
  let base = title
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    // Separators, characters Windows forbids, and control characters.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
    .replace(/[/\\:*?"<>|\u0000-\u001f\u007f]/g, '-')
    .trim()
    // Windows drops trailing dots and spaces; a leading dot hides the file elsewhere.
    .replace(/^[.\s]+|[.\s]+$/g, '')
  base = cut(base, MAX_FILE_NAME_CHARS).trim()
  if (!base) base = 'Untitled'
  // Names Windows keeps for devices, whatever the extension.
  if (/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i.test(base)) base = `${base}-`
  return `${base}.md`
}

function uniqueName(name: string, taken: Set<string>): string {
  const stem = name.slice(0, -'.md'.length)
  let candidate = name
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n}).md`
  taken.add(candidate.toLowerCase())
  return candidate
}

export interface ImportFile {
  /** The path relative to the folder picked (or just the file name). */
  path: string
  text: string
}

export interface ImportItem {
  file: string
  title: string
  text: string
}

export class ImportError extends Error {}

/**
 * What importing these files makes: a document per Markdown file, in path order; files of other kinds
 * are left out (`skipped`). Throws ImportError, naming the file, for a file over the text cap, more
 * Markdown files than MAX_IMPORT_FILES, or a `workspace.json` that is not one of ours.
 */
export function importPlan(files: ImportFile[]): { items: ImportItem[]; skipped: string[]; boards: ExportedBoard[] } {
  const byPath = (a: ImportFile, b: ImportFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const manifestFile = files.find((f) => baseName(f.path) === MANIFEST_FILE)
  const titles = new Map<string, string>()
  const boards: ExportedBoard[] = []
  const badBoards: string[] = []
  if (manifestFile) {
    let raw: unknown
    try {
      raw = JSON.parse(manifestFile.text)
    } catch {
      throw new ImportError(`${manifestFile.path} is not JSON: it is not a Grapevine export's ${MANIFEST_FILE}.`)
    }
    const parsed = manifestSchema.safeParse(raw)
    if (!parsed.success) throw new ImportError(`${manifestFile.path} is not a Grapevine export's ${MANIFEST_FILE} (or of a newer version).`)
    for (const d of parsed.data.documents) titles.set(d.file, d.title)
    for (const [i, raw] of parsed.data.boards.entries()) {
      const board = exportedBoardSchema.safeParse(raw)
      if (board.success) boards.push(board.data)
      else badBoards.push(`${manifestFile.path}: board ${i + 1} (not a board this version reads)`)
    }
  }
  const markdown = files.filter((f) => MARKDOWN.test(f.path)).sort(byPath)
  const skipped = [...files.filter((f) => f !== manifestFile && !markdown.includes(f)).map((f) => f.path), ...badBoards]
  if (markdown.length > MAX_IMPORT_FILES)
    throw new ImportError(`${markdown.length} Markdown files: one import takes at most ${MAX_IMPORT_FILES}. Import the folder in parts.`)
  const items = markdown.map((f): ImportItem => {
    if (f.text.length > MAX_TEXT_CHARS)
      throw new ImportError(`${f.path} is over ${MAX_TEXT_CHARS.toLocaleString('en')} characters, more than one document holds.`)
    const name = baseName(f.path)
    const title = titles.get(name) ?? name.replace(MARKDOWN, '')
    return { file: f.path, title: cut(title, MAX_TITLE_CHARS), text: f.text }
  })
  return { items, skipped, boards }
}

/**
 * Makes an exported board again in a workspace, through the client protocol: the board with its
 * columns, then each card in order. An assignee who is not a member there is left out. Resolves with
 * the new board's id.
 */
export async function importBoard(client: PeerClient, workspaceId: string, board: ExportedBoard): Promise<string> {
  const members = new Set((await client.request('workspace.members', { workspaceId })).map((m) => m.deviceId))
  const names = board.columns.map((c) => c.name.trim() || 'Untitled')
  const created = await client.request('board.create', { workspaceId, title: board.title, columns: names })
  const columns = (await client.request('board.read', { docId: created.id })).columns.map((c) => c.id)
  for (const [i, column] of board.columns.entries()) {
    for (const card of column.cards) {
      await client.request('card.add', {
        docId: created.id,
        column: columns[i],
        title: card.title.trim() || 'Untitled',
        description: card.description,
        assignee: card.assignee !== null && members.has(card.assignee) ? card.assignee : null,
        due: card.due,
        labels: [...new Set(card.labels)],
      })
    }
  }
  return created.id
}

/** At most `max` UTF-16 units, never half of a surrogate pair. */
function cut(s: string, max: number): string {
  const head = s.slice(0, max)
  return /[\ud800-\udbff]$/.test(head) ? head.slice(0, -1) : head
}

function baseName(path: string): string {
  return path.split(/[/\\]/).pop() ?? path
}
