/**
 * automerge-repo's sync server as its users run it (automerge-repo-sync-server): a Repo with NodeFS
 * storage and the WebSocket server adapter on 127.0.0.1; it relays and stores, announcing nothing.
 */
import { rmSync } from 'node:fs'
import { WebSocketServer } from 'ws'
import { Repo } from '@automerge/automerge-repo'
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import * as A from '@automerge/automerge'
import { serve } from '../lib/serve.ts'

let repo: Repo | null = null
let wss: WebSocketServer | null = null
let dir = ''

serve(
  {
    async start({ storageDir }: { storageDir: string }) {
      dir = storageDir
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      await new Promise<void>((r) => wss!.once('listening', () => r()))
      repo = new Repo({
        network: [new NodeWSServerAdapter(wss as never)],
        storage: new NodeFSStorageAdapter(storageDir),
        sharePolicy: async () => false,
      })
      const addr = wss.address()
      return typeof addr === 'object' && addr ? addr.port : 0
    },
    /** Each document's heads as this server holds them. */
    async heads({ urls }: { urls: string[] }) {
      const hs = await Promise.all(urls.map((u) => repo!.find<unknown>(u as never)))
      return Object.fromEntries(hs.map((h, i) => [urls[i], [...A.getHeads(h.doc() as A.Doc<unknown>)].sort().join(',')]))
    },
  },
  async () => {
    await repo?.shutdown().catch(() => {})
    wss?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  },
)
