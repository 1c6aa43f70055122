/**
 * Serves the built renderer (out/renderer) on app://grapevine/. Every path is resolved inside that
 * folder or refused, so a page cannot read any other file; every response carries the CSP.
 */
import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { isAppUrl } from './app-url.ts'
import { securityHeaders } from './security.ts'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  // WebAssembly.instantiateStreaming insists on this type.
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
}

/** The file under `root` that `url` names, or null if it names nothing we serve. */
export function resolveAppPath(url: string, root: string): string | null {
  if (!isAppUrl(url)) return null
  let path: string
  try {
    path = decodeURIComponent(new URL(url).pathname)
  } catch {
    return null
  }
  if (path.includes('\0') || path.includes('\\')) return null
  if (path === '/' || path === '') path = '/index.html'
  const base = resolve(root)
  const file = resolve(base, `.${path}`)
  return file.startsWith(base + sep) ? file : null
}

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
}

// Shown when the renderer has not been built, so a developer sees what to do, not a blank window.
const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Grapevine</title>
<body style="font:16px system-ui;margin:3em"><h1>The interface is not built</h1>
<p>Run <code>npm start</code> (it builds everything), or <code>npx vite build --config renderer/vite.config.ts</code>.</p></body>`

/** The response for one request from a page (`protocol.handle` handler body). */
export async function serveAppRequest(request: { url: string; method: string }, root: string, read: (file: string) => Promise<Uint8Array> = readFile): Promise<Response> {
  const headers = securityHeaders()
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405, headers })
  const file = resolveAppPath(request.url, root)
  if (!file) return new Response('Not found', { status: 404, headers })
  try {
    const body = await read(file)
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: { ...headers, 'Content-Type': contentTypeFor(file) } })
  } catch {
    if (file === resolve(root, 'index.html')) {
      return new Response(NOT_BUILT, { status: 200, headers: { ...headers, 'Content-Type': CONTENT_TYPES['.html']! } })
    }
    return new Response('Not found', { status: 404, headers })
  }
}
