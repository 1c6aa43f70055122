/**
 * The way to the peer, chosen at boot: the MessagePort the Electron preload hands over, or a
 * token-guarded WebSocket to the CLI peer that served this page (browser mode). Both carry whole
 * CBOR frames; `createRpcClient` (shared/rpc.ts) turns either into the same `PeerClient`.
 */
import type { FrameChannel } from '../../shared/rpc.ts'

/** What the preload posts, with the peer's port in `event.ports[0]`. */
export const PORT_MESSAGE = 'grapevine:port'

export type TransportChoice = { kind: 'browser'; url: string } | { kind: 'electron' }

/** Browser mode when the page was opened with `?token=…` over http(s); otherwise Electron. */
export function chooseTransport(location: { protocol: string; host: string; search: string }): TransportChoice {
  const token = new URLSearchParams(location.search).get('token')
  if (token && /^https?:$/.test(location.protocol)) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
    return { kind: 'browser', url: `${scheme}//${location.host}/rpc?token=${encodeURIComponent(token)}` }
  }
  return { kind: 'electron' }
}

/** A frame as it arrives from a port or socket, or null when it is not binary. */
export function asFrame(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return null
}

/** Frames over a MessagePort. A non-binary message is dropped: the peer never sends one. */
export function portChannel(port: MessagePort): FrameChannel & { closeNow(): void } {
  const closeListeners = new Set<() => void>()
  let closed = false
  const closeNow = (): void => {
    if (closed) return
    closed = true
    for (const l of closeListeners) l()
  }
  // Chromium fires 'close' on a MessagePort whose other end is gone (the peer restarted).
  port.addEventListener('close', closeNow)
  return {
    send: (frame) => port.postMessage(frame),
    onFrame(listener) {
      port.addEventListener('message', (e: MessageEvent) => {
        const frame = asFrame(e.data)
        if (frame) listener(frame)
      })
      port.start()
    },
    onClose: (listener) => void closeListeners.add(listener),
    close() {
      port.close()
      closeNow()
    },
    closeNow,
  }
}

/** Frames over an open WebSocket (binaryType 'arraybuffer'); each message is one frame. */
export function webSocketChannel(ws: WebSocket): FrameChannel {
  return {
    // Frames are never backed by a SharedArrayBuffer (cborg allocates plain ones).
    send: (frame) => ws.send(frame as Uint8Array<ArrayBuffer>),
    onFrame: (listener) => ws.addEventListener('message', (e: MessageEvent) => {
      const frame = asFrame(e.data)
      if (frame) listener(frame)
    }),
    onClose: (listener) => ws.addEventListener('close', () => listener()),
    close: () => ws.close(),
  }
}

/** Opens the WebSocket at `url`; rejects if it cannot be opened. */
export function openWebSocket(url: string): Promise<FrameChannel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    const fail = (): void => reject(new Error('The peer did not accept the connection.'))
    ws.addEventListener('error', fail, { once: true })
    ws.addEventListener('open', () => {
      ws.removeEventListener('error', fail)
      resolve(webSocketChannel(ws))
    }, { once: true })
  })
}

/**
 * Calls `onPort` with every port the preload posts (a new one after the peer restarts). Call it at
 * boot: the preload posts on 'load', which comes after the page's module scripts have run.
 */
export function listenForPorts(win: Window, onPort: (port: MessagePort) => void): () => void {
  const onMessage = (e: MessageEvent): void => {
    if (e.source !== win || e.origin !== win.location.origin || e.data !== PORT_MESSAGE) return
    const port = e.ports[0]
    if (port) onPort(port)
  }
  win.addEventListener('message', onMessage)
  return () => win.removeEventListener('message', onMessage)
}
