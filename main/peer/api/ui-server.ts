/**
 * Browser mode: the built renderer served on 127.0.0.1, and the client protocol over a WebSocket
 * at /rpc guarded by a random token in the page's URL. For headless machines (an always-on peer on
 * a spare computer) and for end-to-end tests in Chromium. Never listens beyond loopback.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { closeSync, existsSync, fchmodSync, openSync, readFileSync, writeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import { serveRpc } from '../../../shared/rpc.ts'
import { serveStaticFile } from '../../../shared/static-files.ts'
import { webSocketChannel } from '../../../shared/websocket-channel.ts'
import type { SessionSource } from './socket-transport.ts'
import type { Log } from '../log.ts'

const RENDERER_DIR = fileURLToPath(new URL('../../../out/renderer', import.meta.url))

export interface UiServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

/**
 * The token (and port) of a profile's UI, kept in the profile folder (readable by this OS user only),
 * so that the URL stays the same across restarts: an open page reconnects by itself.
 */
export function profileUiSettings(profileDir: string): { token: string; port: number } {
  const path = join(profileDir, 'ui.json')
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { token?: unknown; port?: unknown }
    if (typeof saved.token === 'string' && /^[A-Za-z0-9_-]{32}$/.test(saved.token) && Number.isInteger(saved.port)) {
      return { token: saved.token, port: saved.port as number }
    }
  } catch {
    // first run, or unreadable: make new ones
  }
  return { token: randomBytes(24).toString('base64url'), port: 0 }
}

export function saveUiSettings(profileDir: string, settings: { token: string; port: number }): void {
  // The mode given to open applies only to a new file: an existing one (an older, looser profile) is
  // made 0600 before the token is written into it. (Windows: the user's profile ACLs protect it.)
  const fd = openSync(join(profileDir, 'ui.json'), 'w', 0o600)
  try {
    if (process.platform !== 'win32') fchmodSync(fd, 0o600)
    writeSync(fd, JSON.stringify(settings))
  } finally {
    closeSync(fd)
  }
}

export async function startUiServer(
  peer: SessionSource,
  log: Log,
  opts: { port?: number; dir?: string; token?: string } = {},
): Promise<UiServer> {
  const dir = resolve(opts.dir ?? RENDERER_DIR)
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`The UI is not built (${dir}/index.html is missing): run \`npm run build:renderer\`.`)
  const token = opts.token ?? randomBytes(24).toString('base64url')
  let origin = ''
  const hostOk = (req: IncomingMessage): boolean => {
    const host = req.headers.host ?? ''
    // A page from another site must not reach us through DNS rebinding: only our own host names.
    return host === origin.slice('http://'.length) || host === origin.slice('http://'.length).replace('127.0.0.1', 'localhost')
  }
  // The same static file rules as Electron's app:// (shared/static-files.ts); only the reading is ours.
  const read = async (path: string): Promise<Uint8Array | null> => {
    const file = resolve(dir, path)
    return file.startsWith(dir + sep) ? readFile(file).catch(() => null) : null
  }
  const serveFile = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostOk(req)) return void res.writeHead(421).end('wrong host')
    const answer = await serveStaticFile({ method: req.method ?? '', pathname: new URL(req.url ?? '/', 'http://x').pathname }, read)
    res.writeHead(answer.status, { ...answer.headers, 'Cache-Control': 'no-cache' })
    res.end(answer.body ?? undefined)
  }
  const server: Server = createServer((req, res) => {
    serveFile(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(400)
      res.end()
    })
  })
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const given = Buffer.from(url.searchParams.get('token') ?? '')
    const good =
      url.pathname === '/rpc' &&
      given.length === token.length &&
      timingSafeEqual(given, Buffer.from(token)) &&
      hostOk(req) &&
      req.headers.origin === origin
    if (!good) {
      log('warn', `ui: refused a WebSocket from ${req.socket.remoteAddress} (bad token, host or origin)`)
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // An oversized frame surfaces as 'error' (ws then closes with 1009 by itself): log it, never crash the peer.
      ws.on('error', (err) => log('warn', `ui: connection closed: ${err.message}`))
      serveRpc(webSocketChannel(ws, { nonFrames: 'close' }), peer.connect(), (why) => log('warn', `ui: ${why}`))
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok())
  })
  const port = (server.address() as { port: number }).port
  origin = `http://127.0.0.1:${port}`
  return {
    url: `${origin}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((done) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
}
