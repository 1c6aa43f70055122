/**
 * A Grapevine client in its own process, as the desktop app's renderer is: it reaches its peer
 * (another process) over the peer's control socket with the client protocol, and keeps a replica.
 * Typing here is not held up by the peer's work, as in the app.
 */
import { connectControlSocket } from '../../main/peer/api/socket-transport.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import { GvReplica, sendTimesSince } from '../lib/gv-replica.ts'
import { serve } from '../lib/serve.ts'
import { textPeerHandlers } from '../lib/text-peer.ts'

let client: (PeerClient & { close(): void }) | null = null
let replica: GvReplica | null = null
let sendBase = 0
const text = textPeerHandlers(
  () =>
    replica ??
    (() => {
      throw new Error('no replica open')
    })(),
)

serve(
  {
    ...text,
    watch() {
      sendBase = replica?.sends.at(-1)?.[0] ?? 0
      return text['watch']!(undefined)
    },
    async start({ profileDir }: { profileDir: string }) {
      client = await connectControlSocket(profileDir)
      return null
    },
    async open({ docId, frameMs }: { docId: string; frameMs?: number }) {
      replica = await GvReplica.open(client!, docId, frameMs)
      return replica.length()
    },
    sendTimes({ keys }: { keys: number }) {
      return sendTimesSince(replica!, sendBase, keys)
    },
  },
  () => {
    replica?.close()
    client?.close()
  },
)
