/**
 * Ctrl/Cmd+Shift+F: search the text and titles of every document of the workspace. Results come as you
 * type (best first, the words around the hit with the matching words marked); choosing one opens the
 * document with the hit selected.
 */
import { useEffect, useState } from 'react'
import { MAX_SEARCH_QUERY_CHARS } from '../../../shared/limits.ts'
import type { SearchHit } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { plainError } from '../lib/errors.ts'
import { useComboList } from './combo-list.ts'
import { Dialog } from './Dialog.tsx'
import { displayTitle } from '../lib/format.ts'

/** Typing pauses this long before a search is asked. */
const DEBOUNCE_MS = 120

export interface SearchChoice {
  docId: string
  /** Where the hit is in the text, and how long it is (null: the hit is in the title). */
  at: number | null
  length: number
}

export function SearchDialog({
  workspaceId,
  onOpen,
  onClose,
}: {
  workspaceId: string
  onOpen: (c: SearchChoice) => void
  onClose: () => void
}) {
  const client = useClient()
  const [query, setQuery] = useState('')
  const [hits, setHits] = useState<SearchHit[] | null>(null)
  const [error, setError] = useState<unknown>(null)

  const shown = hits ?? []
  const choose = (h: SearchHit | undefined): void => {
    if (!h) return
    onClose()
    const first = h.parts.find((p) => p.hit)
    onOpen({ docId: h.docId, at: h.at, length: h.at === null ? 0 : (first?.text.length ?? 0) })
  }
  const list = useComboList(shown, choose)

  useEffect(() => {
    if (!query.trim()) {
      setHits(null)
      setError(null)
      return
    }
    let stale = false
    const timer = setTimeout(() => {
      client.request('search.query', { query, workspaceId }).then(
        (found) => {
          if (stale) return
          setHits(found)
          setError(null)
        },
        (err: unknown) => {
          if (!stale) setError(err)
        },
      )
    }, DEBOUNCE_MS)
    return () => {
      stale = true
      clearTimeout(timer)
    }
  }, [client, query, workspaceId])

  return (
    <Dialog title="Search documents" hideTitle onClose={onClose} testId="search-dialog" className="palette">
      <input
        className="palette-input"
        data-autofocus
        {...list.inputProps}
        aria-label="Search the documents of this workspace"
        placeholder="Search every document of this workspace…"
        maxLength={MAX_SEARCH_QUERY_CHARS}
        value={query}
        data-testid="search-input"
        onChange={(e) => {
          setQuery(e.target.value)
          list.setActive(0)
        }}
      />
      <div id={list.listId} role="listbox" aria-label="Documents found" className="palette-list">
        {shown.map((h, i) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents lint/a11y/useFocusableInteractive: aria-activedescendant combobox: focus stays in the input, whose onKeyDown moves (arrows) and chooses (Enter) the active option
          <div
            key={h.docId}
            id={list.optionId(i)}
            role="option"
            aria-selected={i === list.current}
            className="palette-item search-item"
            onMouseMove={() => list.setActive(i)}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(h)}
            data-testid="search-result"
            data-doc-id={h.docId}
          >
            <span className="search-title">{displayTitle(h.title)}</span>
            <span className="search-snippet" data-testid="search-snippet">
              {h.parts.map((p, j) =>
                // The parts of one snippet never change order: their index is their identity.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above
                p.hit ? <mark key={j}>{p.text}</mark> : <span key={j}>{p.text}</span>,
              )}
            </span>
          </div>
        ))}
      </div>
      {error ? (
        <p className="search-status error-text" role="alert">
          {plainError(error)}
        </p>
      ) : hits && hits.length === 0 ? (
        <p className="search-status muted" data-testid="search-empty">
          No document has “{query.trim()}”.
        </p>
      ) : hits ? (
        <p className="search-status muted" aria-live="polite">
          {hits.length === 1 ? '1 document' : `${hits.length} documents`} · Enter opens the first hit
        </p>
      ) : null}
    </Dialog>
  )
}
