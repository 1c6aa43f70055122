/**
 * Export and import in the app: a workspace downloaded as a .zip of Markdown files plus workspace.json,
 * a document as one .md file, and documents made from Markdown files a person picks (a folder or
 * files). The format is shared with the CLI (shared/markdown-export.ts): an exported folder, unzipped,
 * imports in either. Everything goes through the client protocol; the page never names a path on disk.
 */
import { strToU8, zipSync } from 'fflate'
import {
  exportFiles,
  fileNameFor,
  ImportError,
  type ImportFile,
  importBoard,
  importPlan,
  importReads,
  MANIFEST_FILE,
  MAX_IMPORT_FILE_BYTES,
  MAX_IMPORT_FILES,
} from '../../../shared/markdown-export.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { WorkspaceInfo } from '../../../shared/types.ts'

export type OnProgress = (done: number, total: number) => void

/** The workspace's documents as a .zip (one folder named after the workspace), read one by one. */
export async function exportWorkspace(
  client: PeerClient,
  ws: WorkspaceInfo,
  onProgress: OnProgress,
): Promise<{ name: string; blob: Blob; documents: number }> {
  const rows = await client.request('doc.list', { workspaceId: ws.id })
  const docs = []
  onProgress(0, rows.length)
  for (const r of rows) {
    const d = await client.request('doc.read', { docId: r.id })
    // A board goes into workspace.json, whole (its text is only a rendering).
    const board = r.kind === 'board' ? await client.request('board.read', { docId: r.id }) : undefined
    docs.push({ id: r.id, title: d.title, text: d.text, createdAt: r.createdAt, lastChangeAt: r.lastChangeAt, board })
    onProgress(docs.length, rows.length)
  }
  const folder = fileNameFor(ws.name).slice(0, -'.md'.length)
  const entries = Object.fromEntries(exportFiles({ id: ws.id, name: ws.name }, docs).map((f) => [`${folder}/${f.path}`, strToU8(f.text)]))
  const zip = zipSync(entries, { level: 6 })
  return { name: `${folder}.zip`, blob: new Blob([zip], { type: 'application/zip' }), documents: docs.length }
}

/** One document as Markdown: its text as written, named after its title. */
export async function exportDocument(client: PeerClient, docId: string): Promise<{ name: string; blob: Blob }> {
  const d = await client.request('doc.read', { docId })
  return { name: fileNameFor(d.title), blob: new Blob([d.text], { type: 'text/markdown;charset=utf-8' }) }
}

/** Hands a file to the browser (or Electron) to save, as a download. */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/**
 * Reads what a person picked (a folder's files carry their path in `webkitRelativePath`): the Markdown
 * files and workspace.json in full, the others only by name. Throws ImportError as `importPlan` does.
 */
export async function planImport(files: readonly File[]): Promise<ReturnType<typeof importPlan>> {
  const count = files.filter((f) => importReads(f.name) && f.name !== MANIFEST_FILE).length
  // Refused before anything is read: more files than an import takes, or one far over a document's size.
  if (count > MAX_IMPORT_FILES)
    throw new ImportError(`${count} Markdown files: one import takes at most ${MAX_IMPORT_FILES}. Import the folder in parts.`)
  const picked: ImportFile[] = []
  for (const f of files) {
    const path = f.webkitRelativePath || f.name
    const wanted = importReads(f.name)
    if (wanted && f.size > MAX_IMPORT_FILE_BYTES) throw new ImportError(`${path} is larger than a document can be.`)
    picked.push({ path, text: wanted ? await f.text() : '' })
  }
  return importPlan(picked)
}

/** Creates the documents of a plan in a workspace, one by one, then its boards; resolves with their ids. */
export async function runImport(
  client: PeerClient,
  workspaceId: string,
  plan: ReturnType<typeof importPlan>,
  onProgress: OnProgress,
): Promise<string[]> {
  const ids: string[] = []
  const total = plan.items.length + plan.boards.length
  onProgress(0, total)
  for (const item of plan.items) {
    ids.push((await client.request('doc.create', { workspaceId, title: item.title, text: item.text })).id)
    onProgress(ids.length, total)
  }
  for (const board of plan.boards) {
    ids.push(await importBoard(client, workspaceId, board))
    onProgress(ids.length, total)
  }
  return ids
}
