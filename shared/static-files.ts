/**
 * Serving the built renderer (out/renderer), the same way from both hosts: Electron's app:// handler
 * (main/app-protocol.ts) and browser mode's HTTP server (main/peer/api/ui-server.ts). Pure: each host
 * passes `read`, the one part that touches its file system, and turns the answer into its response.
 */
import { PAGE_SECURITY_HEADERS } from './csp.ts'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  // WebAssembly.instantiateStreaming insists on this type.
  wasm: 'application/wasm',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
  map: 'application/json',
}

export function contentTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  return (dot > 0 && CONTENT_TYPES[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream'
}

/**
 * The file a URL path names, relative to the app's folder with '/' separators ('/' is index.html),
 * or null for anything that could name a file outside it once decoded: '..', '\', NUL, a drive
 * letter. The host still checks that the resolved path is inside its folder.
 */
export function staticFilePath(pathname: string): string | null {
  let path: string
  try {
    path = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (/[\0\\:]/.test(path)) return null
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.some((s) => s === '..')) return null
  return segments.length === 0 ? 'index.html' : segments.join('/')
}

export interface StaticResponse {
  status: number
  headers: Record<string, string>
  body: Uint8Array | string | null
}

// Shown when the renderer has not been built, so a developer sees what to do, not a blank window.
const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Grapevine</title>
<body style="font:16px system-ui;margin:3em"><h1>The interface is not built</h1>
<p>Run <code>npm start</code> (it builds everything), or <code>npx vite build --config renderer/vite.config.ts</code>.</p></body>`

/**
 * The response to one request for `pathname`: GET and HEAD only, every response with the page
 * headers. `read` returns a file's bytes by its relative path, or null if there is no such file.
 */
export async function serveStaticFile(
  request: { method: string; pathname: string },
  read: (relativePath: string) => Promise<Uint8Array | null>,
): Promise<StaticResponse> {
  const headers = { ...PAGE_SECURITY_HEADERS }
  if (request.method !== 'GET' && request.method !== 'HEAD') return { status: 405, headers, body: null }
  const path = staticFilePath(request.pathname)
  const bytes = path === null ? null : await read(path)
  if (path === null || bytes === null) {
    if (path !== 'index.html') return { status: 404, headers: { ...headers, 'Content-Type': CONTENT_TYPES.txt! }, body: 'Not found' }
    return { status: 200, headers: { ...headers, 'Content-Type': CONTENT_TYPES.html! }, body: request.method === 'HEAD' ? null : NOT_BUILT }
  }
  return { status: 200, headers: { ...headers, 'Content-Type': contentTypeFor(path) }, body: request.method === 'HEAD' ? null : bytes }
}
