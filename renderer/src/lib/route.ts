/** Where the user is, kept in the URL's hash so a reload comes back to the same place. */

export interface Route {
  workspaceId: string | null
  docId: string | null
}

const ID = /^[A-Za-z0-9_-]{1,128}$/

/** `#/w/<workspaceId>/d/<docId>` → route; anything else → nothing selected. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/')
  const ws = parts[0] === 'w' && parts[1] && ID.test(parts[1]) ? parts[1] : null
  const doc = ws && parts[2] === 'd' && parts[3] && ID.test(parts[3]) ? parts[3] : null
  return { workspaceId: ws, docId: doc }
}

export function formatRoute(r: Route): string {
  if (!r.workspaceId) return '#/'
  return r.docId ? `#/w/${r.workspaceId}/d/${r.docId}` : `#/w/${r.workspaceId}`
}
