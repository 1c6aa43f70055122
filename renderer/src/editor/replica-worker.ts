/**
 * The editor's worker: one per window, for the window's life. It holds the replicas of the open
 * documents (replica-host.ts) and its own session at the peer, so that neither Automerge's work nor
 * the editor's traffic to the peer waits on the window's thread (which may be busy painting). Each
 * time the window (re)connects it hands the worker the way for this connection: the peer's WebSocket
 * address in browser mode, a MessagePort of its own in Electron.
 */
import { GrapevineError } from '../../../shared/protocol.ts'
import { createRpcClient } from '../../../shared/rpc.ts'
import { checkedClient } from '../data/checked-client.ts'
import { openWebSocket, portChannel } from '../transport.ts'
import { startAutomerge } from './automerge-wasm.ts'
import type { EditorVia } from '../transport.ts'
import type { FromWorker, ToWorker } from './replica-messages.ts'
import { ReplicaHost } from './replica-host.ts'

/** The worker's global scope (the project's types are the window's: only what is used here). */
declare const self: {
  postMessage(message: FromWorker): void
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void
}

/** Sends and teammates' changes are batched per this many ms in a fast run (a frame's worth in the window). */
const TURN_MS = 8

const host = new ReplicaHost(
  (m: FromWorker) => self.postMessage(m),
  (fn, afterMs = 0) => void setTimeout(fn, Math.max(TURN_MS, afterMs)),
)
const automerge = startAutomerge()
let session: { close(): void } | null = null
let generation = 0

async function connect(via: EditorVia): Promise<void> {
  const gen = ++generation
  session?.close()
  session = null
  try {
    const channel = 'port' in via ? portChannel(via.port) : await openWebSocket(via.url)
    if (gen !== generation) return channel.close()
    const rpc = createRpcClient(channel)
    session = rpc
    const client = checkedClient(rpc, (e) => console.warn('the editor worker dropped a malformed event from the peer', e))
    // Only its documents' events: the window's own session is told the rest.
    await client.request('session.configure', { events: 'open-docs' })
    if (gen === generation) host.connect(client)
  } catch (err) {
    if (gen === generation) host.connectFailed(err instanceof Error ? err : new GrapevineError('unreachable', String(err)))
  }
}

// Messages keep their order: everything waits for Automerge, then for the connection before it, on one
// chain. A message that fails is logged; the ones after it still run.
let ready: Promise<unknown> = automerge.catch((err: unknown) => console.error('Automerge did not start in the editor worker', err))
const inTurn = (fn: () => unknown): void => {
  ready = ready.then(fn).catch((err: unknown) => console.error('the editor worker could not handle a message', err))
}
self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const m = e.data
  if (m.t === 'connect') inTurn(() => connect(m.via))
  else inTurn(() => host.handle(m))
})
self.postMessage({ t: 'ready', rid: 0 })
