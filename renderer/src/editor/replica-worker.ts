/**
 * The editor's worker: one per window, for the window's life. It holds the replicas of the open
 * documents (replica-host.ts) and its own session at the peer, so that neither Automerge's work nor
 * the editor's traffic to the peer waits on the window's thread (which may be busy painting). Each
 * time the window (re)connects it hands the worker the way for this connection: the peer's WebSocket
 * address in browser mode, a MessagePort of its own in Electron (worker-session.ts keeps it up).
 */
import { openWebSocket, portChannel } from '../transport.ts'
import { startAutomerge } from './automerge-wasm.ts'
import type { FromWorker, ToWorker } from './replica-messages.ts'
import { ReplicaHost } from './replica-host.ts'
import { WorkerSession } from './worker-session.ts'

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
const session = new WorkerSession(host, {
  openWebSocket,
  portChannel,
  later: (fn, ms) => void setTimeout(fn, ms),
  portLost: () => self.postMessage({ t: 'port-lost', rid: 0 }),
  warn: (message, detail) => console.warn(message, ...(detail === undefined ? [] : [detail])),
})

// Messages keep their order: everything waits for Automerge, then for the connection before it, on one
// chain. A message that fails is logged; the ones after it still run.
let ready: Promise<unknown> = automerge.catch((err: unknown) => console.error('Automerge did not start in the editor worker', err))
const inTurn = (fn: () => unknown): void => {
  ready = ready.then(fn).catch((err: unknown) => console.error('the editor worker could not handle a message', err))
}
self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const m = e.data
  if (m.t === 'connect') inTurn(() => session.connect(m.via))
  else inTurn(() => host.handle(m))
})
self.postMessage({ t: 'ready', rid: 0 })
