/**
 * A `FrameChannel` (shared/rpc.ts) over an Electron `MessagePortMain`, for main's own client of
 * the peer (notifications and the badge). Only whole binary frames pass; anything else is dropped,
 * since the peer never sends it.
 */
import type { FrameChannel } from '../shared/rpc.ts'

/** The parts of Electron's MessagePortMain used here. */
export interface MessagePortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
  on(event: 'close', listener: () => void): unknown
  postMessage(message: unknown): void
  start(): void
  close(): void
}

/** Wraps `port`; starts it once the first frame listener is attached, so no frame is missed. */
export function portChannel(port: MessagePortLike): FrameChannel {
  let started = false
  let closed = false
  const closeListeners: Array<() => void> = []
  const markClosed = (): void => {
    if (closed) return
    closed = true
    for (const l of closeListeners) l()
  }
  port.on('close', markClosed)
  return {
    send(frame) {
      if (!closed) port.postMessage(frame)
    },
    onFrame(listener) {
      port.on('message', (event) => {
        if (event.data instanceof Uint8Array) listener(event.data)
      })
      if (!started) {
        started = true
        port.start()
      }
    },
    onClose(listener) {
      closeListeners.push(listener)
    },
    close() {
      port.close()
      // Listeners run once whether or not Electron also reports our own close.
      markClosed()
    },
  }
}
