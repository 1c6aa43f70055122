/**
 * A task board, read only: its columns and cards in order (title, assignee, due date, labels). Boards are
 * edited from the CLI (`card add`, `card move`, …) until the app's board editor comes; a board never opens
 * in the text editor, whose text binding would write into it.
 */
import { useClient } from '../data/client-context.tsx'
import { usePeerQuery } from '../data/hooks.ts'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'
import { displayTitle } from './Sidebar.tsx'

export function BoardReadOnly({ docId, names }: { docId: string; names: ReadonlyMap<string, string> }) {
  const client = useClient()
  const board = usePeerQuery(() => client.request('board.read', { docId }), [docId], {
    refreshOn: (e) => e.type === 'doc.sync' && e.docId === docId,
    everyMs: 5_000,
  })
  const b = board.data
  return (
    <main className="doc-view" data-testid="board-view" data-doc-id={docId}>
      <header className="doc-head">
        <h1 className="board-title">{b ? displayTitle(b.title) : '…'}</h1>
      </header>
      <p className="notice" role="status">
        A task board, shown read only here: change it with <code>grapevine-peer card add</code>, <code>card move</code> and{' '}
        <code>card edit</code> until the app edits boards.
      </p>
      <ErrorText error={board.error} />
      {!b && !board.error && <Progress label="Opening the board…" />}
      {b && (
        <div className="board-columns">
          {b.columns.map((c) => (
            <section key={c.id} className="board-column" aria-label={c.name} data-testid="board-column">
              <h2>
                {c.name} <span className="muted">{c.cards.length}</span>
              </h2>
              <ol>
                {c.cards.map((card) => (
                  <li key={card.id} className="board-card" data-testid="board-card">
                    <strong>{card.title || 'Untitled card'}</strong>
                    {card.description && <p className="muted">{card.description.slice(0, 200)}</p>}
                    <p className="board-card-meta">
                      {card.assignee && <span>{names.get(card.assignee) ?? 'a former member'}</span>}
                      {card.due && <span>due {card.due}</span>}
                      {card.labels.map((l) => (
                        <span key={l} className="badge">
                          {l}
                        </span>
                      ))}
                    </p>
                  </li>
                ))}
              </ol>
            </section>
          ))}
        </div>
      )}
      {b && b.hidden > 0 && <p className="muted">{b.hidden} more cards are not shown.</p>}
    </main>
  )
}
