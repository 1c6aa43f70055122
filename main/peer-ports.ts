/**
 * Hands windows their MessagePorts to the peer: two per window, its page's own and one for the page's
 * editor worker (renderer/src/editor/replica-worker.ts), each a session of its own. A window asks once
 * its page has loaded (the preload's hello); after a peer restart every such window gets fresh ports,
 * since the old ones died with the old process. A page whose port closed while the peer kept running
 * (the peer ended that session alone) says hello again: it gets fresh ports too, at most once per
 * `REHELLO_MS`, so that a page cannot make main open sessions in a loop. Ports are created by a factory
 * so this is tested without Electron.
 */

/** A window is handed ports at most this often on its own asking (a peer restart hands them at once). */
export const REHELLO_MS = 2_000

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
  /** The clock and the timer of a hello that came too soon (tests pass their own). */
  now?: () => number
  later?: (fn: () => void, ms: number) => () => void
}

export class PortBroker<P> {
  private readonly waiting = new Map<number, PortWindow<P>>()
  private readonly deps: PortBrokerDeps<P>
  /** When each loaded window was last handed ports. */
  private readonly handedAt = new Map<number, number>()
  /** A hello that came within `REHELLO_MS` of the last ports, answered then: its timer's cancel. */
  private readonly deferred = new Map<number, () => void>()

  constructor(deps: PortBrokerDeps<P>) {
    this.deps = deps
  }

  /**
   * A page loaded in `win` and can take a port (now, or once the peer is ready), or a loaded page
   * asks again because its port closed alone: answered once `REHELLO_MS` has passed since its last.
   */
  hello(win: PortWindow<P>): void {
    this.waiting.set(win.id, win)
    if (this.deferred.has(win.id)) return
    const last = this.handedAt.get(win.id)
    const wait = last === undefined ? 0 : last + REHELLO_MS - this.now()
    if (wait <= 0) {
      this.handTo(win)
      return
    }
    const later = this.deps.later ?? ((fn, ms) => clearTimeout.bind(null, setTimeout(fn, ms)))
    this.deferred.set(
      win.id,
      later(() => {
        this.deferred.delete(win.id)
        const current = this.waiting.get(win.id)
        if (current) this.handTo(current)
      }, wait),
    )
  }

  /** The window closed or is loading another page: it will say hello again if it wants a port. */
  forget(id: number): void {
    this.waiting.delete(id)
    this.handedAt.delete(id)
    this.deferred.get(id)?.()
    this.deferred.delete(id)
  }

  /** The peer (re)started: every loaded page gets a fresh port. */
  peerReady(): void {
    for (const cancel of this.deferred.values()) cancel()
    this.deferred.clear()
    for (const win of [...this.waiting.values()]) this.handTo(win)
  }

  private now(): number {
    return (this.deps.now ?? Date.now)()
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
      this.forget(win.id)
      return
    }
    const port = this.openLocal()
    if (port === null) return
    const editorPort = this.openLocal()
    if (editorPort === null) {
      this.deps.close(port)
      return
    }
    this.handedAt.set(win.id, this.now())
    win.sendPorts(port, editorPort)
  }
}
