/**
 * "My tasks": the cards assigned to this device on the boards of every workspace it reads (`tasks.mine`),
 * grouped by board, with their column, due date (overdue marked) and labels. Read again whenever a
 * board changes (a `doc.list` event naming one, data/board-watch.ts) or the workspaces do; a card opens
 * its board with the card's dialog.
 */
import { useMemo } from 'react'
import type { WorkspaceInfo } from '../../../shared/types.ts'
import { BoardWatch } from '../data/board-watch.ts'
import { useClient } from '../data/client-context.tsx'
import { usePeerQuery } from '../data/hooks.ts'
import { dueLabel, localDay } from '../lib/board-moves.ts'
import { hueFor } from '../lib/colour.ts'
import type { Route } from '../lib/route.ts'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'
import { displayTitle } from '../lib/format.ts'

export function TasksView({ workspaces, navigate }: { workspaces: readonly WorkspaceInfo[]; navigate: (r: Route) => void }) {
  const client = useClient()
  // Read again when a board (or the set of workspaces) changed: not for teammates' keystrokes in text.
  const watch = useMemo(() => new BoardWatch(client), [client])
  const tasks = usePeerQuery(() => client.request('tasks.mine', {}), [], {
    refreshOn: (e) => watch.mayChangeBoards(e),
    everyMs: 60_000,
  })
  const today = localDay(new Date())
  const groups: { key: string; workspaceId: string; docId: string; title: string; tasks: NonNullable<typeof tasks.data> }[] = []
  for (const t of tasks.data ?? []) {
    const last = groups[groups.length - 1]
    if (last?.docId === t.docId) last.tasks.push(t)
    else groups.push({ key: t.docId, workspaceId: t.workspaceId, docId: t.docId, title: t.boardTitle, tasks: [t] })
  }
  const overdue = (tasks.data ?? []).filter((t) => t.card.due && t.card.due < today).length
  const several = workspaces.length > 1
  return (
    <main className="doc-view tasks-view" data-testid="tasks-view">
      <header className="doc-head">
        <h1 className="tasks-title">My tasks</h1>
        <div className="doc-head-right muted">
          {tasks.data && (
            <span data-testid="tasks-count">
              {tasks.data.length} {tasks.data.length === 1 ? 'card' : 'cards'} assigned to you
              {overdue > 0 && <span className="overdue"> · {overdue} overdue</span>}
            </span>
          )}
        </div>
      </header>
      <div className="tasks-body">
        <ErrorText error={tasks.error} />
        {!tasks.data && !tasks.error && <Progress label="Finding your tasks…" />}
        {tasks.data?.length === 0 && (
          <div className="empty-state" data-testid="tasks-empty">
            <p>Nothing is assigned to you.</p>
            <p className="muted">Cards that teammates (or you) assign to you on any board show up here.</p>
          </div>
        )}
        {groups.map((g) => (
          <section key={g.key} className="tasks-group" aria-label={displayTitle(g.title)} data-testid="tasks-board">
            <h2>
              <button
                type="button"
                className="tasks-board-link"
                title="Open the board"
                onClick={() => navigate({ workspaceId: g.workspaceId, docId: g.docId })}
              >
                {displayTitle(g.title)}
              </button>
              {several && <span className="muted"> · {workspaces.find((w) => w.id === g.workspaceId)?.name ?? ''}</span>}
            </h2>
            <ul className="tasks-list">
              {g.tasks.map((t) => {
                const due = t.card.due ? dueLabel(t.card.due, today) : null
                return (
                  <li key={t.card.id}>
                    <button
                      type="button"
                      className="task-row"
                      data-testid="task"
                      data-card-id={t.card.id}
                      onClick={() => navigate({ workspaceId: t.workspaceId, docId: t.docId, cardId: t.card.id })}
                    >
                      <span className="task-title">{t.card.title || 'Untitled card'}</span>
                      <span className="task-column" data-testid="task-column">
                        {t.columnName}
                      </span>
                      <span className="card-labels">
                        {t.card.labels.map((l) => (
                          <span key={l} className="card-label" style={{ ['--label-hue' as string]: hueFor(l) }}>
                            {l}
                          </span>
                        ))}
                      </span>
                      <span className={`card-due ${due?.overdue ? 'overdue' : ''} ${due?.today ? 'due-today' : ''}`} data-testid="task-due">
                        {due ? `${due.overdue ? 'Overdue · ' : due.today ? 'Today · ' : ''}${due.text}` : ''}
                      </span>
                    </button>
                  </li>
                )
              })}
            </ul>
          </section>
        ))}
      </div>
    </main>
  )
}
