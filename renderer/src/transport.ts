/**
 * The way to the peer, chosen at boot: the MessagePort the Electron preload hands over, or a
 * token-guarded WebSocket to the CLI peer that served this page (browser mode). Both carry whole
 * CBOR frames; `createRpcClient` (shared/rpc.ts) turns either into the same `PeerClient`.
 */
import { PORT_MESSAGE, PORTS_AGAIN_MESSAGE } from '../../shared/desktop-bridge.ts'
import type { FrameChannel } from '../../shared/frame-channel.ts'
import { webSocketChannel } from '../../shared/websocket-channel.ts'

export type TransportChoice = { kind: 'browser'; url: string } | { kind: 'electron' }

/**
 * How the editor's worker (editor/replica-worker.ts) reaches the peer for one connection: a session of
 * its own, so that its traffic never waits on the window's thread. In browser mode it opens its own
 * WebSocket to `url`; in Electron the preload hands a second MessagePort with the window's.
 */
export type EditorVia = { url: string } | { port: MessagePort }

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
 * Calls `onPorts` with every pair of ports the preload posts (new ones after the peer restarts): the
 * window's, and the editor worker's. Call it at boot: the preload posts on 'load', which comes after
 * the page's module scripts have run.
 */
export function listenForPorts(win: Window, onPorts: (port: MessagePort, editorPort: MessagePort) => void): () => void {
  const onMessage = (e: MessageEvent): void => {
    if (e.source !== win || e.origin !== win.location.origin || e.data !== PORT_MESSAGE) return
    const [port, editorPort] = e.ports
    if (port && editorPort) onPorts(port, editorPort)
  }
  win.addEventListener('message', onMessage)
  return () => win.removeEventListener('message', onMessage)
}

/**
 * Asks the preload for fresh ports (Electron): one of this page's closed while the peer kept running.
 * They come as `listenForPorts` hands them; main answers at most once per REHELLO_MS (main/peer-ports.ts).
 */
export function askForPorts(win: Pick<Window, 'postMessage' | 'location'>): void {
  win.postMessage(PORTS_AGAIN_MESSAGE, win.location.origin)
}
