/**
 * A task board: its columns and cards, edited through the peer's board methods (the peer writes the
 * board; this window shows the board each method answers with, and reads it again on every change a
 * teammate makes). Cards move by drag and drop (native HTML5) or from the keyboard (Alt+arrows on a
 * focused card, shared/board.ts's `keyboardMove`); a move shows at once and the peer's board follows.
 * A card opens in its dialog (CardDialog); the URL names it, so a reload or "my tasks" can open it.
 * Its history is a text document's (HistoryPanel): who changed it when, and an earlier version read as
 * the board's text, with the cards changed since marked; a board's version is not restored.
 */
import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react'
import { keyboardMove } from '../../../shared/board.ts'
import type { MemberInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useBoard } from '../data/board.ts'
import { useAction } from '../data/hooks.ts'
import { errorCode } from '../lib/errors.ts'
import { moveAnnouncement, moveColumnLocally, moveLocally, othersIn, placeAt, staysPut } from '../lib/board-moves.ts'
import { AddColumn, BoardColumn, type ColumnActions } from './BoardColumn.tsx'
import { CardDialog } from './CardDialog.tsx'
import { ConfirmDialog } from './ConfirmDialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'
import { SyncStatus } from './SyncStatus.tsx'
import { TitleField } from './TitleField.tsx'
import { ALT } from '../lib/platform.ts'
import { loadEditor } from '../editor/load.ts'
import { HistoryButton, HistoryPanel, useHistoryState, VersionView } from './HistoryPanel.tsx'

type EditorModule = Awaited<ReturnType<typeof loadEditor>>

export interface BoardViewProps {
  docId: string
  canWrite: boolean
  members: readonly MemberInfo[]
  teammatesOnline: number
  /** The card whose dialog is open (from the URL), or null. */
  cardId: string | null
  onOpenCard: (cardId: string | null) => void
  onRead: (docId: string) => void
  focusTitle: boolean
}

const ARROWS: Record<string, 'up' | 'down' | 'left' | 'right'> = {
  ArrowUp: 'up',
  ArrowDown: 'down',
  ArrowLeft: 'left',
  ArrowRight: 'right',
}

const EDGE = { up: 'at the top', down: 'at the bottom', left: 'in the first column', right: 'in the last column' } as const

export function BoardView(p: BoardViewProps) {
  const client = useClient()
  const { docId, canWrite } = p
  const state = useBoard(docId, p.onRead)
  const { board, change } = state
  const [announce, setAnnounce] = useState('')
  const [dragging, setDragging] = useState<string | null>(null)
  const [drop, setDrop] = useState<{ column: string; at: number } | null>(null)
  const [deletingColumn, setDeletingColumn] = useState<{ id: string; name: string; cards: number } | null>(null)
  /** The card a keyboard move is about: focus stays on it while it is re-rendered elsewhere. */
  const keepFocus = useRef<string | null>(null)
  /** The history beside the board, and the version shown in place of it. */
  const [history, setHistory, toggleHistory] = useHistoryState(docId)
  /** The editor's module shows a version's text (read only): loaded when a version is first shown. */
  const [mod, setMod] = useState<EditorModule | null>(null)
  const wantsVersion = history?.version != null
  useEffect(() => {
    if (!wantsVersion || mod) return
    let cancelled = false
    void loadEditor().then((m) => {
      if (!cancelled) setMod(() => m)
    })
    return () => {
      cancelled = true
    }
  }, [wantsVersion, mod])

  // Any click, or focus moving to something else, ends that.
  useEffect(() => {
    const drop = (): void => {
      keepFocus.current = null
    }
    const focused = (e: FocusEvent): void => {
      const id = keepFocus.current
      if (id && (e.target as HTMLElement | null)?.dataset?.['cardId'] !== id) keepFocus.current = null
    }
    window.addEventListener('pointerdown', drop, true)
    window.addEventListener('focusin', focused, true)
    return () => {
      window.removeEventListener('pointerdown', drop, true)
      window.removeEventListener('focusin', focused, true)
    }
  }, [])
  useEffect(() => {
    const id = keepFocus.current
    if (!board || !id) return
    const el = document.querySelector<HTMLElement>(`[data-testid="board-card"][data-card-id="${id}"]`)
    if (el && document.activeElement !== el) el.focus()
  }, [board])

  const { hold } = state
  const endDrag = useCallback(() => {
    setDragging(null)
    setDrop(null)
    hold(false)
  }, [hold])
  // A drag ends with `dragend` on its card; should that never come (the card left the page), the drag
  // is over once the browser stops sending `dragover`, which it does all along a drag, anywhere.
  useEffect(() => {
    if (!dragging) return
    let last = Date.now()
    const seen = (): void => {
      last = Date.now()
    }
    window.addEventListener('dragover', seen, true)
    window.addEventListener('dragend', endDrag, true)
    const watch = setInterval(() => {
      if (Date.now() - last > 2000) endDrag()
    }, 1000)
    return () => {
      window.removeEventListener('dragover', seen, true)
      window.removeEventListener('dragend', endDrag, true)
      clearInterval(watch)
    }
  }, [dragging, endDrag])

  /** Moves a card to `at` among the other cards of `column`: shown at once, then as the peer has it. */
  const move = useCallback(
    async (cardId: string, column: string, at: number) => {
      if (!board || staysPut(board, cardId, column, at)) return
      const place = placeAt(othersIn(board, column, cardId), at)
      const r = await change(
        async () => {
          try {
            return await client.request('card.move', { docId, cardId, column, ...place })
          } catch (err) {
            // The neighbour it was to go next to moved away meanwhile: the same index, as the peer counts now.
            if (errorCode(err) !== 'not-found' || place.index !== undefined) throw err
            return client.request('card.move', { docId, cardId, column, index: at })
          }
        },
        (b) => moveLocally(b, cardId, column, at),
      )
      if (r) setAnnounce(moveAnnouncement(r.board, cardId))
    },
    [board, change, client, docId],
  )

  const onCardKey = useCallback(
    (e: KeyboardEvent, cardId: string) => {
      if (!board || !canWrite || !e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return
      const direction = ARROWS[e.key]
      if (!direction) return
      e.preventDefault()
      const to = keyboardMove(board, cardId, direction)
      if (!to) {
        setAnnounce(`It is already ${EDGE[direction]}.`)
        return
      }
      keepFocus.current = cardId
      void move(cardId, to.column, to.index)
    },
    [board, canWrite, move],
  )

  const columnActions: ColumnActions = {
    addCard: (column, title) => change(() => client.request('card.add', { docId, column, title })).then((r) => r !== undefined),
    rename: (columnId, name) => void change(() => client.request('column.rename', { docId, columnId, name })),
    move: (columnId, index) =>
      void change(
        () => client.request('column.move', { docId, columnId, index }),
        (b) => moveColumnLocally(b, columnId, index),
      ),
    remove: (columnId) => {
      const c = board?.columns.find((x) => x.id === columnId)
      if (c) setDeletingColumn({ id: c.id, name: c.name, cards: c.cards.length })
    },
    openCard: (cardId) => p.onOpenCard(cardId),
    onCardKey,
    dragStart: (cardId) => {
      state.hold(true)
      setDragging(cardId)
    },
    dragEnd: endDrag,
    dragOver: (column, at) => setDrop((d) => (d?.column === column && d.at === at ? d : { column, at })),
    dragLeave: (column) => setDrop((d) => (d?.column === column ? null : d)),
    dropped: (column, at) => {
      const card = dragging
      endDrag()
      if (card) void move(card, column, at)
    },
  }

  const rename = useAction(async (title: string) => {
    await client.request('doc.rename', { docId, title })
    state.reload()
  })

  if (!board) {
    return (
      <main className="doc-view" data-testid="board-view" aria-busy={!state.error}>
        <ErrorText error={state.error} />
        {!state.error && <Progress label="Opening the board…" />}
      </main>
    )
  }
  const real = board.columns.filter((c) => !c.implicit)
  const cards = board.columns.reduce((n, c) => n + c.cards.length, 0)
  const openCard = p.cardId ? board.columns.flatMap((c) => c.cards).find((k) => k.id === p.cardId) : undefined
  return (
    <main className="doc-view board-view" data-testid="board-view" data-doc-id={docId}>
      <header className="doc-head">
        <TitleField
          title={board.title}
          readOnly={!canWrite || board.deleted}
          focusNow={p.focusTitle}
          onRename={(t) => rename.run(t).then(() => {})}
        />
        <div className="doc-head-right">
          <span className="muted board-count">
            {cards} {cards === 1 ? 'card' : 'cards'}
          </span>
          <SyncStatus docId={docId} unsent={0} teammatesOnline={p.teammatesOnline} />
          <HistoryButton open={history !== null} onToggle={toggleHistory} />
        </div>
      </header>
      {board.deleted && (
        <p className="notice" role="status">
          This board was deleted. You can still read it here.
        </p>
      )}
      {!canWrite && !board.deleted && (
        <p className="notice" role="status" data-testid="board-read-only">
          You can read this board but not change it (viewer).
        </p>
      )}
      {canWrite && !board.deleted && (
        <p className="board-hint muted" id={`board-hint-${docId}`}>
          Drag a card to move it, or focus it and press <kbd>{ALT}</kbd>+<kbd>←</kbd>
          <kbd>↑</kbd>
          <kbd>↓</kbd>
          <kbd>→</kbd>. <kbd>Enter</kbd> opens it.
        </p>
      )}
      <ErrorText
        error={state.error ?? rename.error}
        onDismiss={() => {
          state.clearError()
          rename.clearError()
        }}
      />
      <p className="visually-hidden" aria-live="polite" data-testid="board-announce">
        {announce}
      </p>
      <div className="doc-body">
        {history?.version ? (
          mod ? (
            <VersionView
              docId={docId}
              version={history.version}
              canWrite={false}
              board
              mod={mod}
              onRestored={() => setHistory({ version: null })}
              onClose={() => setHistory({ version: null })}
            />
          ) : (
            <Progress label="Reading this version…" />
          )
        ) : (
          <div className="board-columns">
            {board.columns.map((c, i) => (
              <BoardColumn
                key={c.id}
                column={c}
                index={i}
                columns={real.length}
                canWrite={canWrite && !board.deleted}
                members={p.members}
                dragging={dragging}
                dropAt={drop?.column === c.id ? drop.at : null}
                hintId={`board-hint-${docId}`}
                actions={columnActions}
              />
            ))}
            {canWrite && !board.deleted && (
              <AddColumn
                onAdd={(name) => change(() => client.request('column.add', { docId, name })).then((r) => r !== undefined)}
                full={real.length}
              />
            )}
          </div>
        )}
        {history && (
          <HistoryPanel
            docId={docId}
            selected={history.version}
            onSelect={(version) => setHistory({ version })}
            onClose={() => setHistory(null)}
          />
        )}
      </div>
      {board.hidden > 0 && <p className="muted">{board.hidden} more cards are not shown.</p>}
      {p.cardId && (
        <CardDialog
          docId={docId}
          card={openCard}
          columns={real}
          boardLabels={[...new Set(board.columns.flatMap((c) => c.cards.flatMap((k) => k.labels)))].sort()}
          members={p.members}
          canWrite={canWrite && !board.deleted}
          error={state.error}
          onClearError={state.clearError}
          change={change}
          onClose={() => p.onOpenCard(null)}
        />
      )}
      {deletingColumn && (
        <ConfirmDialog
          title="Delete column?"
          confirmLabel="Delete column"
          message={`“${deletingColumn.name}” will be deleted for everyone.`}
          note={
            deletingColumn.cards > 0
              ? `Its ${deletingColumn.cards === 1 ? 'card moves' : `${deletingColumn.cards} cards move`} to the end of the first column left.`
              : undefined
          }
          onConfirm={async () => {
            await client.request('column.delete', { docId, columnId: deletingColumn.id })
            state.reload()
          }}
          onClose={() => setDeletingColumn(null)}
        />
      )}
    </main>
  )
}
