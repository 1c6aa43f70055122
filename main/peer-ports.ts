/**
 * Hands windows their MessagePorts to the peer: two per window, its page's own and one for the page's
 * editor worker (renderer/src/editor/replica-worker.ts), each a session of its own. A window asks once
 * its page has loaded (the preload's hello); after a peer restart every such window gets fresh ports,
 * since the old ones died with the old process. Ports are created by a factory so this is tested without Electron.
 */

/** One channel: `peerSide` goes to the peer process, `pageSide` to the window or to main's client. */
export interface PortPair<P> {
  peerSide: P
  pageSide: P
}

/** A window as the broker sees it. */
export interface PortWindow<P> {
  readonly id: number
  isDestroyed(): boolean
  /** The page's port and its editor worker's. */
  sendPorts(port: P, editorPort: P): void
}

export interface PortBrokerDeps<P> {
  newChannel(): PortPair<P>
  /** Gives the peer its side; false if the peer cannot take a client now. */
  connectPeer(port: P): boolean
  close(port: P): void
}

export class PortBroker<P> {
  private readonly waiting = new Map<number, PortWindow<P>>()
  private readonly deps: PortBrokerDeps<P>

  constructor(deps: PortBrokerDeps<P>) {
    this.deps = deps
  }

  /** A page loaded in `win` and can take a port (now, or once the peer is ready). */
  hello(win: PortWindow<P>): void {
    this.waiting.set(win.id, win)
    this.handTo(win)
  }

  /** The window closed or is loading another page: it will say hello again if it wants a port. */
  forget(id: number): void {
    this.waiting.delete(id)
  }

  /** The peer (re)started: every loaded page gets a fresh port. */
  peerReady(): void {
    for (const win of [...this.waiting.values()]) this.handTo(win)
  }

  /** Windows whose page is loaded, for notices. */
  loadedWindows(): PortWindow<P>[] {
    return [...this.waiting.values()].filter((w) => !w.isDestroyed())
  }

  /** A port to the peer for main's own use, or null if the peer is not ready. */
  openLocal(): P | null {
    const pair = this.deps.newChannel()
    if (this.deps.connectPeer(pair.peerSide)) return pair.pageSide
    this.deps.close(pair.peerSide)
    this.deps.close(pair.pageSide)
    return null
  }

  private handTo(win: PortWindow<P>): void {
    if (win.isDestroyed()) {
      this.waiting.delete(win.id)
      return
    }
    const port = this.openLocal()
    if (port === null) return
    const editorPort = this.openLocal()
    if (editorPort === null) this.deps.close(port)
    else win.sendPorts(port, editorPort)
  }
}
