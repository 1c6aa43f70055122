/** "My tasks", then the workspace's documents and boards: filter by title, open, new, rename, delete; unread ones marked. */
import { memo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { MAX_TITLE_CHARS } from '../../../shared/limits.ts'
import type { DocumentSummary } from '../../../shared/types.ts'
import { useNow } from '../data/hooks.ts'
import { ago, displayTitle } from '../lib/format.ts'
import { fuzzyFilter } from '../lib/fuzzy.ts'
import { Progress } from './Progress.tsx'
import { shortcutLabel } from '../lib/platform.ts'

export interface SidebarProps {
  docs: DocumentSummary[] | undefined
  loading: boolean
  selectedId: string | null
  canWrite: boolean
  selfId: string
  onOpen: (docId: string) => void
  onNew: () => void
  onNewBoard: () => void
  /** Shows "my tasks" (null: this device has none to show, a keeper). */
  onTasks: (() => void) | null
  tasksSelected: boolean
  onRename: (docId: string, title: string) => Promise<void>
  onDelete: (doc: DocumentSummary) => void
  creating: boolean
}

/** The filter box, a memo component: the listing changes while teammates type, the box does not. */
const FilterField = memo(function FilterField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return (
    <label className="filter">
      <span className="visually-hidden">Filter documents by title</span>
      <input
        type="search"
        placeholder="Filter by title"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        data-testid="doc-filter"
      />
    </label>
  )
})

export function Sidebar(p: SidebarProps) {
  const now = useNow(30_000)
  const [filter, setFilter] = useState('')
  const [renaming, setRenaming] = useState<string | null>(null)
  const sorted = [...(p.docs ?? [])].sort((a, b) => b.lastChangeAt - a.lastChangeAt)
  const shown = fuzzyFilter(sorted, filter, (d) => displayTitle(d.title))

  return (
    <nav className="sidebar" aria-label="Documents" data-testid="sidebar">
      {p.onTasks && (
        <button
          type="button"
          className={`sidebar-tasks ${p.tasksSelected ? 'selected' : ''}`}
          aria-current={p.tasksSelected ? 'page' : undefined}
          onClick={p.onTasks}
          data-testid="my-tasks"
        >
          <span aria-hidden="true" className="doc-kind">
            ☑
          </span>{' '}
          My tasks
        </button>
      )}
      <div className="sidebar-head">
        <h2 className="sidebar-title">Documents</h2>
        {p.canWrite && (
          <span className="row tight">
            <button
              type="button"
              className="small"
              onClick={p.onNew}
              disabled={p.creating}
              data-testid="new-document"
              title={`New document (${shortcutLabel('Mod+N')})`}
            >
              + New
            </button>
            <button
              type="button"
              className="small"
              onClick={p.onNewBoard}
              disabled={p.creating}
              data-testid="new-board"
              title="New task board: columns and cards"
            >
              + Board
            </button>
          </span>
        )}
      </div>
      <FilterField value={filter} onChange={setFilter} />
      {p.loading && !p.docs && <Progress label="Loading documents…" />}
      {p.docs && p.docs.length === 0 && <p className="empty muted">No documents yet.</p>}
      {p.docs && p.docs.length > 0 && shown.length === 0 && <p className="empty muted">No title matches “{filter}”.</p>}
      <ul className="doc-list">
        {shown.map((d) => (
          <li key={d.id} className={`doc-item ${d.id === p.selectedId ? 'selected' : ''}`} data-testid="doc-item" data-doc-id={d.id}>
            {renaming === d.id ? (
              <RenameField
                initial={d.title}
                onDone={async (title) => {
                  setRenaming(null)
                  if (title !== null && title !== d.title) await p.onRename(d.id, title)
                }}
              />
            ) : (
              <button
                type="button"
                className="doc-open"
                onClick={() => p.onOpen(d.id)}
                aria-current={d.id === p.selectedId ? 'page' : undefined}
              >
                <span className="doc-title-row">
                  {d.unread && <span className="unread-dot" data-testid="unread" aria-label="Unread changes" role="img" />}
                  {d.kind === 'board' && (
                    <span className="doc-kind" role="img" aria-label="Task board" title="Task board">
                      ▦
                    </span>
                  )}
                  <span className="doc-title" data-testid="doc-title">
                    {displayTitle(d.title)}
                  </span>
                </span>
                <span className="doc-meta">
                  {ago(d.lastChangeAt, now)}
                  {d.lastChangeBy && ` · ${d.lastChangeBy === p.selfId ? 'you' : (d.lastChangeByName ?? 'a teammate')}`}
                </span>
              </button>
            )}
            {p.canWrite && renaming !== d.id && (
              <span className="doc-actions">
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Rename ${displayTitle(d.title)}`}
                  title="Rename"
                  onClick={() => setRenaming(d.id)}
                >
                  <span aria-hidden="true">✎</span>
                </button>
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Delete ${displayTitle(d.title)}`}
                  title="Delete"
                  onClick={() => p.onDelete(d)}
                >
                  <span aria-hidden="true">🗑</span>
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  )
}

function RenameField({ initial, onDone: done }: { initial: string; onDone: (title: string | null) => void }) {
  const [value, setValue] = useState(initial)
  const finished = useRef(false)
  const onDone = (title: string | null): void => {
    if (finished.current) return
    finished.current = true
    done(title)
  }
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    onDone(value.trim())
  }
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.preventDefault()
      e.stopPropagation()
      onDone(null)
    }
  }
  return (
    <form onSubmit={submit} className="rename-form">
      <input
        aria-label="New title"
        value={value}
        maxLength={MAX_TITLE_CHARS}
        onFocus={(e) => e.target.select()}
        // biome-ignore lint/a11y/noAutofocus: the field appears because the user chose Rename; focus must move into it (old title selected), else it is lost with the removed Rename button
        autoFocus
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKey}
        onBlur={() => onDone(value.trim())}
        data-testid="rename-input"
      />
    </form>
  )
}
