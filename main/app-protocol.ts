/**
 * Serves the built renderer (out/renderer) on app://grapevine/ with the static file rules shared with
 * browser mode (shared/static-files.ts): every path is resolved inside that folder or refused, so a
 * page cannot read any other file; every response carries the CSP.
 */
import { readFile } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import { serveStaticFile, staticFilePath } from '../shared/static-files.ts'
import { isAppUrl } from './app-url.ts'
import { securityHeaders } from './security.ts'

/** The file under `root` that `url` names, or null if it names nothing we serve. */
export function resolveAppPath(url: string, root: string): string | null {
  if (!isAppUrl(url)) return null
  const path = staticFilePath(new URL(url).pathname)
  return path === null ? null : inside(root, path)
}

/** `root`/`path`, or null if it would be outside `root` (a second check: the path is already clean). */
function inside(root: string, path: string): string | null {
  const base = resolve(root)
  const file = resolve(base, path)
  return file.startsWith(base + sep) ? file : null
}

/** The response for one request from a page (`protocol.handle` handler body). */
export async function serveAppRequest(
  request: { url: string; method: string },
  root: string,
  read: (file: string) => Promise<Uint8Array> = readFile,
): Promise<Response> {
  if (!isAppUrl(request.url)) return new Response('Not found', { status: 404, headers: securityHeaders() })
  const answer = await serveStaticFile({ method: request.method, pathname: new URL(request.url).pathname }, async (path) => {
    const file = inside(root, path)
    return file === null ? null : read(file).catch(() => null)
  })
  return new Response(answer.body === null ? null : typeof answer.body === 'string' ? answer.body : new Uint8Array(answer.body), {
    status: answer.status,
    headers: answer.headers,
  })
}
