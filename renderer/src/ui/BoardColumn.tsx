/**
 * One column of a board: its name (renamed in place), its cards in order (each draggable, and movable
 * with Alt+arrows when focused), where a dragged card would land, and the field that adds a card.
 * The board (BoardView) does the moves; a column only says where.
 */
import { type DragEvent, type FormEvent, type KeyboardEvent, useRef, useState } from 'react'
import type { CardView, ColumnView } from '../../../shared/board.ts'
import { MAX_BOARD_COLUMNS, MAX_CARD_TITLE_CHARS, MAX_NAME_CHARS } from '../../../shared/limits.ts'
import type { MemberInfo } from '../../../shared/types.ts'
import { dropIndex, dueLabel, localDay } from '../lib/board-moves.ts'
import { colourFor, hueFor, initials } from '../lib/colour.ts'
import { ALT } from '../lib/platform.ts'

export interface ColumnActions {
  /** Resolves true once the card is added (the field then empties for the next one). */
  addCard(column: string, title: string): Promise<boolean>
  rename(columnId: string, name: string): void
  move(columnId: string, index: number): void
  remove(columnId: string): void
  openCard(cardId: string): void
  onCardKey(e: KeyboardEvent, cardId: string): void
  dragStart(cardId: string): void
  dragEnd(): void
  dragOver(column: string, at: number): void
  /** The dragged card left the column (for somewhere it cannot be dropped, or another column). */
  dragLeave(column: string): void
  dropped(column: string, at: number): void
}

export interface BoardColumnProps {
  column: ColumnView
  /** Its place among the board's columns, and how many there are. */
  index: number
  columns: number
  canWrite: boolean
  members: readonly MemberInfo[]
  /** The card being dragged (anywhere on the board), and where it would drop here. */
  dragging: string | null
  dropAt: number | null
  hintId: string
  actions: ColumnActions
}

/** Set on a drag so that a drop from outside the board (a file, some text) is not taken for a card. */
const CARD_TYPE = 'application/x-grapevine-card'

export function BoardColumn(p: BoardColumnProps) {
  const { column, actions, canWrite } = p
  const list = useRef<HTMLOListElement>(null)
  const [renaming, setRenaming] = useState(false)
  const editable = canWrite && !column.implicit
  const today = localDay(new Date())

  /** Where the pointer would drop the dragged card: among this column's other cards, by their middles. */
  const atPointer = (e: DragEvent): number => {
    const cards = [...(list.current?.querySelectorAll<HTMLElement>('[data-testid="board-card"]') ?? [])].filter(
      (el) => el.dataset['cardId'] !== p.dragging,
    )
    return dropIndex(
      cards.map((el) => {
        const r = el.getBoundingClientRect()
        return r.top + r.height / 2
      }),
      e.clientY,
    )
  }
  const over = (e: DragEvent): void => {
    if (!p.dragging || !editable || !e.dataTransfer.types.includes(CARD_TYPE)) return
    e.preventDefault()
    e.dataTransfer.dropEffect = 'move'
    actions.dragOver(column.id, atPointer(e))
  }

  // The drop line is drawn on the card it goes before (or after the last), so nothing shifts under the pointer.
  const others = column.cards.filter((k) => k.id !== p.dragging)
  const lineBefore = p.dropAt !== null && p.dropAt < others.length ? others[p.dropAt]!.id : null
  const lineAfter = p.dropAt !== null && p.dropAt >= others.length && others.length > 0 ? others[others.length - 1]!.id : null
  /** The assignee by name (initials from the name alone), or as a former member. */
  const person = (id: string): { name: string; label: string } => {
    const m = p.members.find((x) => x.deviceId === id)
    return m ? { name: m.name, label: m.self ? `${m.name} (you)` : m.name } : { name: '?', label: 'a former member' }
  }

  return (
    <section
      className={`board-column ${p.dropAt !== null ? 'drop-target' : ''}`}
      aria-label={column.name}
      data-testid="board-column"
      data-column-id={column.id}
      onDragOver={over}
      onDragEnter={over}
      onDragLeave={(e) => {
        if (p.dropAt !== null && !e.currentTarget.contains(e.relatedTarget as Node | null)) actions.dragLeave(column.id)
      }}
      onDrop={(e) => {
        if (!p.dragging || !editable) return
        e.preventDefault()
        actions.dropped(column.id, atPointer(e))
      }}
    >
      <header className="board-column-head">
        {renaming ? (
          <InlineField
            label="Column name"
            initial={column.name}
            max={MAX_NAME_CHARS}
            testId="column-name-input"
            onDone={(v) => {
              setRenaming(false)
              if (v && v !== column.name) actions.rename(column.id, v)
            }}
          />
        ) : (
          <h2>
            {editable ? (
              <button type="button" className="column-name" title="Rename the column" onClick={() => setRenaming(true)}>
                {column.name}
              </button>
            ) : (
              column.name
            )}{' '}
            <span className="column-count" data-testid="column-count">
              {column.cards.length}
            </span>
          </h2>
        )}
        {editable && !renaming && (
          <span className="column-actions">
            <button
              type="button"
              className="icon-button"
              aria-label={`Move ${column.name} left`}
              title="Move the column left"
              disabled={p.index === 0}
              onClick={() => actions.move(column.id, p.index - 1)}
            >
              <span aria-hidden="true">←</span>
            </button>
            <button
              type="button"
              className="icon-button"
              aria-label={`Move ${column.name} right`}
              title="Move the column right"
              disabled={p.index >= p.columns - 1}
              onClick={() => actions.move(column.id, p.index + 1)}
            >
              <span aria-hidden="true">→</span>
            </button>
            <button
              type="button"
              className="icon-button"
              aria-label={`Delete ${column.name}`}
              title={p.columns > 1 ? 'Delete the column' : 'A board keeps at least one column'}
              disabled={p.columns <= 1}
              onClick={() => actions.remove(column.id)}
              data-testid="column-delete"
            >
              <TrashIcon />
            </button>
          </span>
        )}
      </header>
      <ol ref={list} className="board-cards">
        {column.cards.map((card) => (
          <li
            key={card.id}
            className={`${card.id === lineBefore ? 'drop-before' : ''} ${card.id === lineAfter ? 'drop-after' : ''}`}
            data-testid={card.id === lineBefore || card.id === lineAfter ? 'drop-indicator' : undefined}
          >
            <CardTile
              card={card}
              today={today}
              assignee={card.assignee ? person(card.assignee) : null}
              draggable={editable}
              dragged={card.id === p.dragging}
              hintId={p.hintId}
              onOpen={() => actions.openCard(card.id)}
              onKeyDown={(e) => actions.onCardKey(e, card.id)}
              onDragStart={(e) => {
                e.dataTransfer.setData(CARD_TYPE, card.id)
                e.dataTransfer.setData('text/plain', card.title)
                e.dataTransfer.effectAllowed = 'move'
                actions.dragStart(card.id)
              }}
              onDragEnd={actions.dragEnd}
            />
          </li>
        ))}
        {others.length === 0 && p.dropAt !== null && <li className="drop-empty" data-testid="drop-indicator" aria-hidden="true" />}
      </ol>
      {editable && <AddCard onAdd={(title) => actions.addCard(column.id, title)} />}
    </section>
  )
}

/** Drawn: the emoji needs a font with emoji, which some Linux desktops lack. */
function TrashIcon() {
  return (
    <svg
      width="14"
      height="14"
      viewBox="0 0 16 16"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.4"
      strokeLinecap="round"
    >
      <path d="M2.5 4h11M6.5 4V2.5h3V4M4 4l.7 9.5h6.6L12 4M6.8 6.5v4.5M9.2 6.5v4.5" />
    </svg>
  )
}

interface CardTileProps {
  card: CardView
  today: string
  assignee: { name: string; label: string } | null
  draggable: boolean
  dragged: boolean
  hintId: string
  onOpen: () => void
  onKeyDown: (e: KeyboardEvent) => void
  onDragStart: (e: DragEvent) => void
  onDragEnd: () => void
}

function CardTile({ card, today, assignee, ...p }: CardTileProps) {
  const due = card.due ? dueLabel(card.due, today) : null
  return (
    <button
      type="button"
      className={`board-card ${p.dragged ? 'dragging' : ''}`}
      data-testid="board-card"
      data-card-id={card.id}
      draggable={p.draggable}
      aria-describedby={p.draggable ? p.hintId : undefined}
      aria-keyshortcuts={p.draggable ? 'Alt+ArrowUp Alt+ArrowDown Alt+ArrowLeft Alt+ArrowRight' : undefined}
      title={p.draggable ? `Open: Enter · Move: drag, or ${ALT}+arrow keys` : 'Open'}
      onClick={p.onOpen}
      onKeyDown={p.onKeyDown}
      onDragStart={p.onDragStart}
      onDragEnd={p.onDragEnd}
    >
      {card.labels.length > 0 && (
        <span className="card-labels">
          {card.labels.map((l) => (
            // A label's hue comes from its text: the same label has the same colour on every card and screen.
            <span key={l} className="card-label" style={{ ['--label-hue' as string]: hueFor(l) }}>
              {l}
            </span>
          ))}
        </span>
      )}
      <span className="card-title" data-testid="card-title">
        {card.title || 'Untitled card'}
      </span>
      {(due || card.description || assignee) && (
        <span className="card-meta">
          {due && (
            <span
              className={`card-due ${due.overdue ? 'overdue' : ''} ${due.today ? 'due-today' : ''}`}
              data-testid="card-due"
              title={due.overdue ? `Overdue: was due ${card.due}` : `Due ${card.due}`}
            >
              <span aria-hidden="true">◷ </span>
              {due.overdue ? 'Overdue · ' : due.today ? 'Today · ' : ''}
              {due.text}
            </span>
          )}
          {card.description && (
            <span className="card-has-description" title="Has a description" role="img" aria-label="Has a description">
              ≡
            </span>
          )}
          {assignee && card.assignee && (
            <span
              className="avatar small card-assignee"
              style={{ backgroundColor: colourFor(card.assignee) }}
              title={`Assigned to ${assignee.label}`}
            >
              <span aria-hidden="true">{initials(assignee.name)}</span>
              <span className="visually-hidden">Assigned to {assignee.label}</span>
            </span>
          )}
        </span>
      )}
    </button>
  )
}

function AddCard({ onAdd }: { onAdd: (title: string) => Promise<boolean> }) {
  const [open, setOpen] = useState(false)
  const [value, setValue] = useState('')
  const [busy, setBusy] = useState(false)
  if (!open)
    return (
      <button type="button" className="add-card" onClick={() => setOpen(true)} data-testid="add-card">
        + Add a card
      </button>
    )
  const submit = async (e?: FormEvent): Promise<void> => {
    e?.preventDefault()
    const title = value.trim()
    if (!title || busy) return
    setBusy(true)
    const ok = await onAdd(title)
    setBusy(false)
    if (ok) setValue('')
  }
  return (
    <form className="add-card-form" onSubmit={(e) => void submit(e)}>
      <textarea
        aria-label="Title of the new card"
        placeholder="What needs doing?"
        value={value}
        rows={2}
        maxLength={MAX_CARD_TITLE_CHARS}
        // biome-ignore lint/a11y/noAutofocus: the field appears because the user chose "Add a card"; typing goes there
        autoFocus
        onChange={(e) => setValue(e.target.value.replace(/\n/g, ' '))}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault()
            void submit()
          } else if (e.key === 'Escape') {
            e.preventDefault()
            e.stopPropagation()
            setOpen(false)
            setValue('')
          }
        }}
        data-testid="add-card-input"
      />
      <div className="row">
        <button type="submit" className="primary small" disabled={busy || !value.trim()}>
          Add card
        </button>
        <button
          type="button"
          className="small"
          onClick={() => {
            setOpen(false)
            setValue('')
          }}
        >
          Cancel
        </button>
        {value.length >= MAX_CARD_TITLE_CHARS && <span className="muted">At most {MAX_CARD_TITLE_CHARS} characters.</span>}
      </div>
    </form>
  )
}

/** The column after the last: a button that becomes a field for the new column's name. */
export function AddColumn({ onAdd, full }: { onAdd: (name: string) => Promise<boolean>; full: number }) {
  const [open, setOpen] = useState(false)
  if (full >= MAX_BOARD_COLUMNS) return null
  return (
    <section className="board-column add-column" aria-label="New column">
      {open ? (
        <InlineField
          label="Name of the new column"
          initial=""
          max={MAX_NAME_CHARS}
          testId="new-column-input"
          onDone={(v) => {
            setOpen(false)
            if (v) void onAdd(v)
          }}
        />
      ) : (
        <button type="button" className="add-card" onClick={() => setOpen(true)} data-testid="add-column">
          + Add a column
        </button>
      )}
    </section>
  )
}

/** A one-line field: Enter or leaving it saves (trimmed), Escape gives up (null). */
function InlineField(p: { label: string; initial: string; max: number; testId: string; onDone: (value: string | null) => void }) {
  const [value, setValue] = useState(p.initial)
  const done = useRef(false)
  const finish = (v: string | null): void => {
    if (done.current) return
    done.current = true
    p.onDone(v)
  }
  return (
    <input
      className="inline-field"
      aria-label={p.label}
      value={value}
      maxLength={p.max}
      // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked for it; focus moves into it
      autoFocus
      onFocus={(e) => e.target.select()}
      onChange={(e) => setValue(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault()
          finish(value.trim())
        } else if (e.key === 'Escape') {
          e.preventDefault()
          e.stopPropagation()
          finish(null)
        }
      }}
      onBlur={() => finish(value.trim())}
      data-testid={p.testId}
    />
  )
}
