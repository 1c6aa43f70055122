/**
 * One card, in a dialog: its title, column, assignee (a member, by name), due date, labels and
 * description, each saved on its own as soon as it is changed (Enter or leaving the field for text), so
 * that a teammate's change of another field is never overwritten; deleting it asks first. What it
 * shows is the card as the peer has it: a teammate's edit shows here unless this field is being typed in.
 */
import { type ReactNode, useEffect, useId, useRef, useState } from 'react'
import { type CardView, type ColumnView, isDueDate } from '../../../shared/board.ts'
import type { CardPatch } from '../../../shared/board-edit.ts'
import { MAX_CARD_DESCRIPTION_CHARS, MAX_CARD_LABELS, MAX_CARD_TITLE_CHARS, MAX_LABEL_CHARS } from '../../../shared/limits.ts'
import type { MemberInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import type { BoardState } from '../data/board.ts'
import { hueFor } from '../lib/colour.ts'
import { mergeEdit } from '../lib/text-merge.ts'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'

export interface CardDialogProps {
  docId: string
  /** The card as the board has it now; undefined once it is gone (deleted here or by a teammate). */
  card: CardView | undefined
  columns: readonly ColumnView[]
  /** Every label on the board, offered as you type one. */
  boardLabels: readonly string[]
  members: readonly MemberInfo[]
  canWrite: boolean
  error: unknown
  onClearError: () => void
  change: BoardState['change']
  onClose: () => void
}

export function CardDialog(p: CardDialogProps) {
  const client = useClient()
  const { card } = p
  const [confirmDelete, setConfirmDelete] = useState(false)
  if (!card)
    return (
      <Dialog title="Card" onClose={p.onClose} testId="card-dialog">
        <p data-testid="card-gone">This card is not on the board any more: it was deleted, or the link is wrong.</p>
        <div className="row end">
          <button type="button" onClick={p.onClose} data-autofocus>
            Close
          </button>
        </div>
      </Dialog>
    )
  const cardId = card.id
  const update = (patch: CardPatch): Promise<unknown> => p.change(() => client.request('card.update', { docId: p.docId, cardId, ...patch }))
  const readers = p.members.filter((m) => m.role !== 'keeper')
  const column = p.columns.find((c) => c.id === card.column)
  const creator = p.members.find((m) => m.deviceId === card.createdBy)
  // A card past the board's text budget is shown cut (shared/board.ts): saving what is shown would lose the rest.
  const textEditable = p.canWrite && !card.clipped
  return (
    <Dialog title={card.title || 'Untitled card'} hideTitle onClose={p.onClose} testId="card-dialog" className="card-dialog">
      <TextField
        kind="title"
        label="Title"
        value={card.title}
        max={MAX_CARD_TITLE_CHARS}
        readOnly={!textEditable}
        onSave={(title) => update({ title })}
      />
      <div className="card-fields">
        <Field label="Column">
          <select
            value={card.column}
            disabled={!p.canWrite}
            onChange={(e) => void p.change(() => client.request('card.move', { docId: p.docId, cardId, column: e.target.value }))}
            data-testid="card-column"
          >
            {!column && <option value={card.column}>—</option>}
            {p.columns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Assignee">
          <select
            value={card.assignee ?? ''}
            disabled={!p.canWrite}
            onChange={(e) => void update({ assignee: e.target.value || null })}
            data-testid="card-assignee"
          >
            <option value="">Nobody</option>
            {card.assignee && !readers.some((m) => m.deviceId === card.assignee) && <option value={card.assignee}>A former member</option>}
            {readers.map((m) => (
              <option key={m.deviceId} value={m.deviceId}>
                {m.self ? `${m.name} (you)` : m.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Due date">
          <span className="row nowrap">
            <input
              type="date"
              value={card.due ?? ''}
              readOnly={!p.canWrite}
              onChange={(e) => {
                const v = e.target.value
                if (v === '' || isDueDate(v)) void update({ due: v || null })
              }}
              data-testid="card-due-input"
            />
            {p.canWrite && card.due && (
              <button
                type="button"
                className="icon-button"
                aria-label="No due date"
                title="No due date"
                onClick={() => void update({ due: null })}
              >
                <span aria-hidden="true">×</span>
              </button>
            )}
          </span>
        </Field>
      </div>
      {card.clipped && (
        <p className="notice" role="status">
          This board holds more text than a window shows, so this card’s text is cut here and cannot be edited from the app.
        </p>
      )}
      <Labels labels={card.labels} boardLabels={p.boardLabels} canWrite={textEditable} onChange={(labels) => update({ labels })} />
      <TextField
        kind="description"
        label="Description"
        value={card.description}
        max={MAX_CARD_DESCRIPTION_CHARS}
        readOnly={!textEditable}
        onSave={(description) => update({ description })}
      />
      <ErrorText error={p.error} onDismiss={p.onClearError} />
      <div className="card-foot">
        <span className="muted">
          {card.createdAt > 0 &&
            `Added ${new Date(card.createdAt).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })}`}
          {creator && ` by ${creator.self ? 'you' : creator.name}`}
        </span>
        {p.canWrite &&
          (confirmDelete ? (
            <span className="row">
              <span>Delete this card for everyone?</span>
              <button type="button" onClick={() => setConfirmDelete(false)}>
                Keep it
              </button>
              <button
                type="button"
                className="danger"
                data-testid="card-delete-confirm"
                onClick={() =>
                  void p
                    .change(() => client.request('card.delete', { docId: p.docId, cardId }))
                    .then((r) => {
                      if (r) p.onClose()
                    })
                }
              >
                Delete
              </button>
            </span>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)} data-testid="card-delete">
              Delete card
            </button>
          ))}
      </div>
    </Dialog>
  )
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  )
}

/**
 * The title or the description: a draft while it is being typed in, saved on Enter (the title) or when
 * focus leaves; else it follows the card as the peer has it.
 */
function TextField(p: {
  kind: 'title' | 'description'
  label: string
  value: string
  max: number
  readOnly: boolean
  onSave: (value: string) => Promise<unknown>
}) {
  const [draft, setDraft] = useState(p.value)
  const [problem, setProblem] = useState<string | null>(null)
  const editing = useRef(false)
  /** The text as it was when this person started typing: what their edit and a teammate's are edits of. */
  const base = useRef(p.value)
  const id = useId()
  useEffect(() => {
    if (!editing.current) setDraft(p.value)
  }, [p.value])
  /** What to save: this person's edit, and a teammate's made meanwhile elsewhere in the text; null: nothing. */
  const toSave = (): string | null => {
    const typed = p.kind === 'title' ? draft.trim() : draft
    if (p.kind === 'title' && !typed) return null
    const v = mergeEdit(base.current, typed, p.value)
    return v === p.value ? null : v
  }
  // Closing the dialog while typing (Escape, the backdrop) keeps what was typed.
  const unsaved = useRef<(() => void) | null>(null)
  unsaved.current = () => {
    const v = editing.current ? toSave() : null
    if (v !== null) void p.onSave(v)
  }
  useEffect(() => () => unsaved.current?.(), [])
  const save = (): void => {
    editing.current = false
    if (p.kind === 'title' && !draft.trim()) {
      setProblem('A card needs a title: the old one is kept.')
      setDraft(p.value)
      return
    }
    setProblem(null)
    const v = toSave()
    if (v === null) return
    base.current = v
    setDraft(v)
    void p.onSave(v)
  }
  const common = {
    id,
    value: draft,
    maxLength: p.max,
    readOnly: p.readOnly,
    onFocus: () => {
      editing.current = true
      base.current = p.value
    },
    onBlur: save,
    'data-testid': `card-${p.kind}-input`,
  }
  return (
    <div className={`field card-${p.kind}`}>
      <label htmlFor={id} className={p.kind === 'title' ? 'visually-hidden' : undefined}>
        {p.label}
      </label>
      {p.kind === 'title' ? (
        <input
          {...common}
          placeholder="Card title"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault()
              save()
              editing.current = true
            }
          }}
        />
      ) : (
        <textarea
          {...common}
          rows={6}
          placeholder={p.readOnly ? 'No description.' : 'Add more detail: what, why, links…'}
          onChange={(e) => setDraft(e.target.value)}
        />
      )}
      {problem && (
        <span className="field-problem" role="alert">
          {problem}
        </span>
      )}
      {draft.length >= p.max && <span className="muted">At most {p.max.toLocaleString()} characters.</span>}
    </div>
  )
}

function Labels(p: {
  labels: readonly string[]
  boardLabels: readonly string[]
  canWrite: boolean
  onChange: (labels: string[]) => Promise<unknown>
}) {
  const [value, setValue] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const listId = useId()
  const add = (): void => {
    const label = value.trim()
    if (!label) return
    const refused = p.labels.includes(label)
      ? `“${label}” is on this card already.`
      : p.labels.length >= MAX_CARD_LABELS
        ? `A card has at most ${MAX_CARD_LABELS} labels.`
        : null
    setProblem(refused)
    if (refused) return
    setValue('')
    void p.onChange([...p.labels, label])
  }
  return (
    <div className="field">
      <span>Labels</span>
      <div className="card-labels editable" data-testid="card-labels">
        {p.labels.length === 0 && !p.canWrite && <span className="muted">None</span>}
        {p.labels.map((l) => (
          <span key={l} className="card-label" style={{ ['--label-hue' as string]: hueFor(l) }} data-testid="card-label">
            {l}
            {p.canWrite && (
              <button
                type="button"
                className="label-remove"
                aria-label={`Remove the label ${l}`}
                onClick={() => void p.onChange(p.labels.filter((x) => x !== l))}
              >
                <span aria-hidden="true">×</span>
              </button>
            )}
          </span>
        ))}
        {p.canWrite && (
          <input
            className="label-input"
            aria-label="Add a label"
            placeholder="+ label"
            list={listId}
            value={value}
            maxLength={MAX_LABEL_CHARS}
            onChange={(e) => setValue(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault()
                add()
              }
            }}
            onBlur={add}
            data-testid="card-label-input"
          />
        )}
        <datalist id={listId}>
          {p.boardLabels
            .filter((l) => !p.labels.includes(l))
            .map((l) => (
              <option key={l} value={l} />
            ))}
        </datalist>
      </div>
      {problem && (
        <span className="field-problem" role="alert">
          {problem}
        </span>
      )}
    </div>
  )
}
