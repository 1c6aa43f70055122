/**
 * Where the app's own pages live and the policy they run under. Pages are served from a privileged
 * custom scheme rather than file:// (Electron's security checklist, item 18): it gives them a real
 * origin for CSP 'self' and postMessage, and no access to the rest of the file system.
 */

export const APP_SCHEME = 'app'
export const APP_HOST = 'grapevine'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
/** The page every window opens. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/** The renderer ships the same policy as a meta tag; the header is the one a page cannot drop. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // Automerge is Rust compiled to WebAssembly; compiling it needs this, and nothing else of eval.
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  "img-src 'self' data:",
  // CodeMirror writes style attributes for layout.
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

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
