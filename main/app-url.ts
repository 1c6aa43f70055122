/**
 * Where the app's own pages live (their policy is shared/csp.ts). Pages are served from a privileged
 * custom scheme rather than file:// (Electron's security checklist, item 18): it gives them a real
 * origin for CSP 'self' and postMessage, and no access to the rest of the file system.
 */

export const APP_SCHEME = 'app'
export const APP_HOST = 'grapevine'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
/** The page every window opens. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/** True only for URLs of the app's own pages (scheme and host, nothing looser). */
export function isAppUrl(url: unknown): boolean {
  if (typeof url !== 'string' || url.length > 8192) return false
  try {
    const u = new URL(url)
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === ''
  } catch {
    return false
  }
}
