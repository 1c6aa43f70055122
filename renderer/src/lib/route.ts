/** Where the user is, kept in the URL's hash so a reload comes back to the same place. */

export interface Route {
  workspaceId: string | null
  docId: string | null
  /** A card of the board `docId`, open in its dialog. */
  cardId?: string
  /** The "my tasks" list (then no document). */
  tasks?: true
}

const ID = /^[A-Za-z0-9_-]{1,128}$/

/**
 * `#/w/<workspaceId>/d/<docId>[/c/<cardId>]` or `#/w/<workspaceId>/tasks` → route; anything else →
 * nothing selected.
 */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/')
  const ws = parts[0] === 'w' && parts[1] && ID.test(parts[1]) ? parts[1] : null
  if (ws && parts[2] === 'tasks' && parts.length === 3) return { workspaceId: ws, docId: null, tasks: true }
  const doc = ws && parts[2] === 'd' && parts[3] && ID.test(parts[3]) ? parts[3] : null
  const card = doc && parts[4] === 'c' && parts[5] && ID.test(parts[5]) ? parts[5] : null
  return card ? { workspaceId: ws, docId: doc, cardId: card } : { workspaceId: ws, docId: doc }
}

export function formatRoute(r: Route): string {
  if (!r.workspaceId) return '#/'
  if (r.docId) return `#/w/${r.workspaceId}/d/${r.docId}${r.cardId ? `/c/${r.cardId}` : ''}`
  return r.tasks ? `#/w/${r.workspaceId}/tasks` : `#/w/${r.workspaceId}`
}
