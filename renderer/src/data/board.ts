/**
 * A board on screen, as the peer has it: `board.read` at first, again on every event about the document,
 * and the board every board method answers with. The window opens the document (`doc.open`) only to be
 * told of its changes (`doc.changes`, `doc.sync`): it keeps no replica of a board, the peer edits it.
 * A move may be shown before the peer answers (`preview`); the next board from the peer replaces it. A
 * board shown with new heads marks the document read, as the editor does for text.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import type { Board } from '../../../shared/board.ts'
import type { BoardView } from '../../../shared/protocol.ts'
import { throttle } from '../../../shared/throttle.ts'
import { errorCode } from '../lib/errors.ts'
import { Newest } from '../lib/newest.ts'
import { useClient } from './client-context.tsx'

type BoardAnswer = { board: BoardView }

export interface BoardState {
  board: BoardView | undefined
  /** The latest failure of a read or a change, until the next one succeeds or it is dismissed. */
  error: unknown
  /**
   * Sends a board method; the board it answers with is shown (unless one asked for later is already).
   * Resolves with the answer, or undefined when it failed (then `error` says why).
   */
  change<R extends BoardAnswer>(send: () => Promise<R>, preview?: (b: Board) => Board): Promise<R | undefined>
  reload(): void
  clearError(): void
  /**
   * While on (a card is being dragged), boards that arrive wait, and the latest is shown when it is
   * turned off: the cards do not move under the pointer, nor the dragged one out of the page.
   */
  hold(on: boolean): void
}

export function useBoard(docId: string, onRead: (docId: string) => void): BoardState {
  const client = useClient()
  const [board, setBoard] = useState<BoardView>()
  const [error, setError] = useState<unknown>(null)
  // Answers can come back in another order than asked: only one asked later than the board shown replaces it.
  // The asked order is also the order of the boards: the peer answers a document's board methods in turn
  // (main/peer/sync/boards.ts `inOrder`), so a read asked after a move shows the move.
  const [newest] = useState(() => new Newest<BoardView>(setBoard))
  const hold = useCallback((on: boolean) => newest.hold(on), [newest])
  const onReadRef = useRef(onRead)
  onReadRef.current = onRead
  const markRead = useRef<(() => void) | null>(null)

  const reload = useCallback(() => {
    const seq = newest.ask()
    client.request('board.read', { docId }).then(
      (b) => {
        newest.answer(seq, b)
        setError(null)
      },
      (err: unknown) => setError(err),
    )
  }, [client, docId, newest])

  useEffect(() => {
    setBoard(undefined)
    setError(null)
    newest.reset()
    let open = false
    let closed = false
    const mark = throttle(
      () =>
        void client.request('doc.markRead', { docId }).then(
          () => onReadRef.current(docId),
          () => {},
        ),
      1000,
    )
    markRead.current = mark
    reload()
    // Subscribes this window to the document's events; the bytes it answers with are not needed here.
    client.request('doc.open', { docId }).then(
      () => {
        open = true
        if (closed) void client.request('doc.close', { docId }).catch(() => {})
      },
      () => {},
    )
    let timer: ReturnType<typeof setTimeout> | null = null
    const soon = (): void => {
      timer ??= setTimeout(() => {
        timer = null
        reload()
      }, 80)
    }
    const off = client.onEvent((e) => {
      if ((e.type === 'doc.changes' || e.type === 'doc.sync') && e.docId === docId) soon()
    })
    // Events are the way; a slow poll covers a reconnection that missed one.
    const poll = setInterval(reload, 15_000)
    return () => {
      closed = true
      off()
      clearInterval(poll)
      if (timer) clearTimeout(timer)
      markRead.current = null
      mark.flush()
      if (open) void client.request('doc.close', { docId }).catch(() => {})
    }
  }, [client, docId, reload, newest])

  // Read as shown: each board with other heads than the last is marked read (once a second at most).
  const heads = board?.heads.join(' ')
  useEffect(() => {
    if (heads !== undefined) markRead.current?.()
  }, [heads])

  const change = useCallback(
    async <R extends BoardAnswer>(send: () => Promise<R>, preview?: (b: Board) => Board): Promise<R | undefined> => {
      const seq = newest.ask()
      if (preview) {
        newest.claim(seq)
        setBoard((b) => (b ? { ...b, ...preview(b) } : b))
      }
      try {
        const r = await send()
        newest.answer(seq, r.board)
        setError(null)
        return r
      } catch (err) {
        if (!errorCode(err)) console.error(err)
        setError(err)
        // What the preview showed did not happen: show the board as it is.
        if (preview) reload()
        return undefined
      }
    },
    [newest, reload],
  )

  return { board, error, change, reload, hold, clearError: useCallback(() => setError(null), []) }
}
