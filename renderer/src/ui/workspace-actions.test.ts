/** The command palette's workspace actions: what each role is offered, and what an action runs. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { DocumentSummary, Role } from '../../../shared/types.ts'
import { workspaceActions, type WorkspaceActionsInput } from './workspace-actions.ts'

const doc = (id: string, title: string, lastChangeAt: number): DocumentSummary => ({ id, title, lastChangeAt }) as DocumentSummary

function input(role: Role, over: Partial<WorkspaceActionsInput> = {}): WorkspaceActionsInput {
  const writer = role === 'owner' || role === 'admin' || role === 'editor'
  return {
    name: 'Studio',
    role,
    canWrite: writer,
    canInvite: role === 'owner' || role === 'admin',
    mayLeave: role !== 'owner',
    showTeammates: true,
    current: undefined,
    docs: [doc('a', 'Older', 1), doc('b', '  ', 2)],
    newDoc: () => {},
    newBoard: () => {},
    showTasks: () => {},
    open: () => {},
    openDialog: () => {},
    toggleTeammates: () => {},
    deleteDoc: () => {},
    exportDoc: () => {},
    ...over,
  }
}

const ids = (role: Role, over: Partial<WorkspaceActionsInput> = {}): string[] => workspaceActions(input(role, over)).map((i) => i.id)

test('each role is offered what it may do; documents follow, newest first, untitled named so', () => {
  const current = doc('a', 'Older', 1)
  assert.deepEqual(ids('owner', { current }), [
    'new',
    'new-board',
    'my-tasks',
    'invite',
    'search',
    'digest',
    'export',
    'import',
    'network',
    'workspace',
    'teammates',
    'filter',
    'rename',
    'delete',
    'history',
    'export-doc',
    'doc:b',
    'doc:a',
  ])
  // A viewer reads: no writing, inviting or importing, but leaving.
  assert.deepEqual(ids('viewer', { current }), [
    'my-tasks',
    'search',
    'digest',
    'export',
    'network',
    'workspace',
    'leave',
    'teammates',
    'filter',
    'history',
    'export-doc',
    'doc:b',
    'doc:a',
  ])
  // A keeper cannot read: nothing about the documents' content.
  assert.deepEqual(ids('keeper', { current }), ['network', 'workspace', 'leave', 'teammates', 'filter', 'doc:b', 'doc:a'])
  const labels = workspaceActions(input('editor')).map((i) => i.label)
  assert.ok(labels.includes('Untitled') && labels.includes('Older'))
  assert.ok(labels.includes('About Studio: your role, the owner, leaving'))
})

test('actions run what they name', () => {
  const ran: string[] = []
  const items = workspaceActions(
    input('editor', {
      current: doc('a', 'Plan', 1),
      openDialog: (d) => ran.push(`dialog:${d}`),
      deleteDoc: (d) => ran.push(`delete:${d.id}`),
      exportDoc: (id) => ran.push(`export:${id}`),
      open: (id) => ran.push(`open:${id}`),
      toggleTeammates: () => ran.push('teammates'),
    }),
  )
  for (const id of ['search', 'leave', 'delete', 'export-doc', 'doc:b', 'teammates']) items.find((i) => i.id === id)!.run()
  assert.deepEqual(ran, ['dialog:search', 'dialog:leave', 'delete:a', 'export:a', 'open:b', 'teammates'])
  assert.equal(items.find((i) => i.id === 'teammates')!.label, 'Hide teammates panel')
})
