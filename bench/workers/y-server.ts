/**
 * Yjs's reference server as its users run it: y-websocket's `setupWSConnection` on a ws server on
 * 127.0.0.1 (in-memory documents, no persistence: y-websocket persists only with y-leveldb).
 */
import { createServer, type Server } from 'node:http'
import { WebSocketServer } from 'ws'
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'
import { serve } from '../lib/serve.ts'

const require = createRequire(import.meta.url)
const { setupWSConnection, docs } = require('y-websocket/bin/utils') as {
  setupWSConnection: (ws: unknown, req: unknown) => void
  docs: Map<string, { getText(name: string): { toString(): string } }>
}

let http: Server | null = null

serve(
  {
    async start() {
      http = createServer((_req, res) => {
        res.writeHead(404)
        res.end()
      })
      const wss = new WebSocketServer({ server: http })
      wss.on('connection', (ws, req) => setupWSConnection(ws, req))
      await new Promise<void>((r) => http!.listen(0, '127.0.0.1', () => r()))
      const addr = http.address()
      return typeof addr === 'object' && addr ? addr.port : 0
    },
    /** Each room's text digest as this server holds it. */
    heads({ names }: { names: string[] }) {
      return Object.fromEntries(
        names.map((n) => [
          n,
          createHash('sha256')
            .update(docs.get(n)?.getText('text').toString() ?? '')
            .digest('hex'),
        ]),
      )
    },
  },
  () => {
    http?.close()
  },
)
