/**
 * The command palette's actions for a workspace, by what this device may do in it (its role) and
 * what is open. Pure: WorkspaceView hands it the state and what each action runs.
 */
import type { DocumentSummary, Role } from '../../../shared/types.ts'
import { HISTORY_EVENT } from '../lib/commands.ts'
import { shortcutLabel } from '../lib/platform.ts'
import type { PaletteItem } from './CommandPalette.tsx'
import { displayTitle } from '../lib/format.ts'

export type WorkspaceDialogName = 'palette' | 'search' | 'digest' | 'export' | 'import' | 'invite' | 'network' | 'workspace' | 'leave'

export interface WorkspaceActionsInput {
  name: string
  role: Role
  canWrite: boolean
  canInvite: boolean
  mayLeave: boolean
  showTeammates: boolean
  /** The open document, if any. */
  current: DocumentSummary | undefined
  docs: DocumentSummary[] | undefined
  newDoc(): void
  newBoard(): void
  showTasks(): void
  open(docId: string): void
  openDialog(d: WorkspaceDialogName): void
  toggleTeammates(): void
  deleteDoc(d: DocumentSummary): void
  exportDoc(docId: string): void
}

const focus = (testId: string, select = false): void => {
  const el = document.querySelector(`[data-testid="${testId}"]`) as HTMLInputElement | null
  if (select) el?.select()
  else el?.focus()
}

export function workspaceActions(a: WorkspaceActionsInput): PaletteItem[] {
  const reads = a.role !== 'keeper'
  const actions: PaletteItem[] = []
  const add = (id: string, label: string, run: () => void, hint?: string): void => {
    actions.push(hint === undefined ? { id, group: 'Actions', label, run } : { id, group: 'Actions', label, hint, run })
  }
  if (a.canWrite) {
    add('new', 'New document', a.newDoc, shortcutLabel('Mod+N'))
    add('new-board', 'New task board', a.newBoard)
  }
  if (reads) add('my-tasks', 'My tasks: cards assigned to you', a.showTasks)
  if (a.canInvite) add('invite', 'Invite a teammate', () => a.openDialog('invite'), shortcutLabel('Mod+Shift+I'))
  if (reads) {
    add('search', 'Search all documents', () => a.openDialog('search'), shortcutLabel('Mod+Shift+F'))
    add('digest', 'While you were away: what changed', () => a.openDialog('digest'))
    add('export', `Export ${a.name} as Markdown files…`, () => a.openDialog('export'))
  }
  if (a.canWrite) add('import', 'Import Markdown files…', () => a.openDialog('import'))
  add('network', 'Show network and peers', () => a.openDialog('network'))
  add('workspace', `About ${a.name}: your role, the owner${a.mayLeave ? ', leaving' : ''}`, () => a.openDialog('workspace'))
  // The owner cannot leave; the workspace dialog says why.
  if (a.mayLeave) add('leave', `Leave ${a.name}…`, () => a.openDialog('leave'))
  add('teammates', a.showTeammates ? 'Hide teammates panel' : 'Show teammates panel', a.toggleTeammates)
  add('filter', 'Filter documents by title', () => focus('doc-filter'))
  const current = a.current
  if (current && a.canWrite) {
    add('rename', `Rename “${displayTitle(current.title)}”`, () => focus('doc-title-input', true))
    add('delete', `Delete “${displayTitle(current.title)}”`, () => a.deleteDoc(current))
  }
  if (current && reads) {
    add(
      'history',
      `Show the history of “${displayTitle(current.title)}”`,
      () => window.dispatchEvent(new Event(HISTORY_EVENT)),
      shortcutLabel('Mod+Shift+H'),
    )
    add('export-doc', `Export “${displayTitle(current.title)}” as Markdown`, () => a.exportDoc(current.id))
  }
  const documents = [...(a.docs ?? [])]
    .sort((x, y) => y.lastChangeAt - x.lastChangeAt)
    .map((d): PaletteItem => ({ id: `doc:${d.id}`, group: 'Documents', label: displayTitle(d.title), run: () => a.open(d.id) }))
  return [...actions, ...documents]
}
