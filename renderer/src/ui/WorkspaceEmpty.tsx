/** What a workspace shows where a document would be: a keeper's note, or no document chosen yet. */
import { ROLE_HINT, ROLE_LABEL } from '../lib/membership.ts'
import { shortcutLabel } from '../lib/platform.ts'

export function KeeperView({ name }: { name: string }) {
  return (
    <main className="doc-view empty-doc" data-testid="keeper-view">
      <div className="empty-state">
        <h1>{name}</h1>
        <p>
          This device is a {ROLE_LABEL.keeper.toLowerCase()} ({ROLE_HINT.keeper}).
        </p>
        <p className="muted">Keep it online: teammates get each other’s work through it when they are not online together.</p>
      </div>
    </main>
  )
}

export function NoDocument(p: {
  name: string
  hasDocs: boolean
  canWrite: boolean
  canInvite: boolean
  onNewDoc(): void
  onNewBoard(): void
}) {
  return (
    <main className="doc-view empty-doc" data-testid="no-document">
      <div className="empty-state">
        <h1>{p.name}</h1>
        <p className="muted">{p.hasDocs ? 'Choose a document on the left, or start a new one.' : 'No documents yet.'}</p>
        {p.canWrite && (
          <div className="row center">
            <button type="button" className="primary" onClick={p.onNewDoc}>
              New document
            </button>
            <button type="button" onClick={p.onNewBoard} data-testid="empty-new-board">
              New task board
            </button>
          </div>
        )}
        <p className="muted shortcuts">
          <kbd>{shortcutLabel('Mod+K')}</kbd> commands · <kbd>{shortcutLabel('Mod+N')}</kbd> new document
          {p.canInvite && (
            <>
              {' '}
              · <kbd>{shortcutLabel('Mod+Shift+I')}</kbd> invite
            </>
          )}
        </p>
      </div>
    </main>
  )
}
