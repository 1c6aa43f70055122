/**
 * The one Content-Security-Policy of the app's pages, as data, and the headers every host sends with
 * them: Electron's app:// handler (main/app-protocol.ts, main/security.ts), browser mode's server
 * (main/peer/api/ui-server.ts) and the build, which writes it into index.html as a meta tag.
 */

/** Directive → sources. Self only; WASM may compile, nothing else may eval. */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  // Automerge is Rust compiled to WebAssembly; compiling it needs this, and nothing else of eval.
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'connect-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  // CodeMirror writes style attributes for layout.
  'style-src': ["'self'", "'unsafe-inline'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
}

/** Directives a browser ignores (and warns about) in a `<meta>` policy: they only work as a header. */
const HEADER_ONLY = new Set(['frame-ancestors', 'report-uri', 'sandbox'])

/** The policy as a header value, or (`meta`) as the content of a `<meta http-equiv>` tag. */
export function serializeCsp(
  directives: Readonly<Record<string, readonly string[]>> = CSP_DIRECTIVES,
  opts: { meta?: boolean } = {},
): string {
  return Object.entries(directives)
    .filter(([name]) => !(opts.meta && HEADER_ONLY.has(name)))
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ')
}

export const CONTENT_SECURITY_POLICY = serializeCsp()

/** Headers for every file of the app: the CSP plus no sniffing, no referrer, no shared browsing context. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
}
