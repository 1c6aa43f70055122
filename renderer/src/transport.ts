/**
 * The way to the peer, chosen at boot: the MessagePort the Electron preload hands over, or a
 * token-guarded WebSocket to the CLI peer that served this page (browser mode). Both carry whole
 * CBOR frames; `createRpcClient` (shared/rpc.ts) turns either into the same `PeerClient`.
 */
import { PORT_MESSAGE } from '../../shared/desktop-bridge.ts'
import type { FrameChannel } from '../../shared/frame-channel.ts'
import { webSocketChannel } from '../../shared/websocket-channel.ts'

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

/** The page's ports and sockets go through the same adapters as every other host's (shared/). */
export { asFrame } from '../../shared/frame-channel.ts'
export { portChannel } from '../../shared/port-channel.ts'
export { webSocketChannel } from '../../shared/websocket-channel.ts'

/** Opens the WebSocket at `url`; rejects if it cannot be opened. */
export function openWebSocket(url: string): Promise<FrameChannel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    const fail = (): void => reject(new Error('The peer did not accept the connection.'))
    ws.addEventListener('error', fail, { once: true })
    ws.addEventListener(
      'open',
      () => {
        ws.removeEventListener('error', fail)
        resolve(webSocketChannel(ws))
      },
      { once: true },
    )
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
