/**
 * The connection to the peer over the transport chosen at boot, kept up: a new MessagePort after
 * the peer restarts or after the page's port closed alone (Electron), or reconnecting the WebSocket
 * with backoff (browser mode). Each
 * (re)connection is a new generation; the UI remounts on it and reopens what it showed.
 */
import type { PeerClient } from '../../shared/protocol.ts'
import { createRpcClient, type FrameChannel } from '../../shared/rpc.ts'
import { checkedClient } from './data/checked-client.ts'
import { redialDelayMs } from './lib/backoff.ts'
import { askForPorts, chooseTransport, type EditorVia, listenForPorts, openWebSocket, portChannel } from './transport.ts'

export type ConnectionState =
  | { status: 'connecting'; kind: 'electron' | 'browser' }
  /** `editor`: the editor worker's way to the peer for this connection (a new one each time). */
  | { status: 'connected'; client: PeerClient; generation: number; editor: EditorVia }
  | { status: 'lost'; kind: 'electron' | 'browser'; retryInMs: number | null }

/** A connection kept up in the background; `subscribe` replays the latest state at once. */
export interface Connection {
  subscribe(fn: (s: ConnectionState) => void): () => void
  stop(): void
}

/**
 * Starts connecting now, at boot, before React renders: the preload may post the port as soon as
 * the page has loaded, and a message nobody listens to is lost.
 */
export function connect(win: Window): Connection {
  let latest: ConnectionState | null = null
  const subscribers = new Set<(s: ConnectionState) => void>()
  const stop = startConnection(win, (s) => {
    latest = s
    for (const fn of [...subscribers]) fn(s)
  })
  return {
    subscribe(fn) {
      subscribers.add(fn)
      if (latest) fn(latest)
      return () => void subscribers.delete(fn)
    },
    stop,
  }
}

export function startConnection(win: Window, onState: (s: ConnectionState) => void): () => void {
  const choice = chooseTransport(win.location)
  let generation = 0
  let current: { close(): void } | null = null
  let stopped = false
  let retry: ReturnType<typeof setTimeout> | null = null
  let failures = 0

  const up = (channel: FrameChannel, editor: EditorVia): void => {
    const gen = ++generation
    const old = current
    const rpc = createRpcClient(channel)
    current = rpc
    old?.close()
    failures = 0
    channel.onClose(() => {
      if (gen !== generation || stopped) return
      if (choice.kind === 'browser') {
        reconnect()
        return
      }
      onState({ status: 'lost', kind: 'electron', retryInMs: null })
      // Fresh ports come after a peer restart anyway; if the peer runs and ended this session alone,
      // only asking brings them.
      askForPorts(win)
    })
    onState({
      status: 'connected',
      client: checkedClient(rpc, (e) => console.warn('dropped a malformed event from the peer', e)),
      generation: gen,
      editor,
    })
  }

  const reconnect = (): void => {
    const wait = redialDelayMs(failures++)
    onState({ status: 'lost', kind: 'browser', retryInMs: wait })
    retry = setTimeout(attempt, wait)
  }
  const attempt = (): void => {
    if (stopped || choice.kind !== 'browser') return
    openWebSocket(choice.url).then(
      (ch) => (stopped ? ch.close() : up(ch, { url: choice.url })),
      () => {
        if (!stopped) reconnect()
      },
    )
  }

  onState({ status: 'connecting', kind: choice.kind })
  let stopPorts = (): void => {}
  if (choice.kind === 'browser') attempt()
  else stopPorts = listenForPorts(win, (port, editorPort) => up(portChannel(port), { port: editorPort }))

  return () => {
    stopped = true
    if (retry) clearTimeout(retry)
    stopPorts()
    current?.close()
  }
}
