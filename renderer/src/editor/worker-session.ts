/**
 * The editor worker's own session at the peer, kept up. Each connection the window hands over
 * (`connect`, once per window connection) replaces the one before. A session can also drop on its
 * own, while the window's is fine: then the window would never hand a new way, so the worker acts.
 * - A WebSocket (browser mode) is dialled again, with the window's backoff (`redialDelayMs`), until it
 *   opens or the window hands a newer connection; opens wait meanwhile. So is one whose first dial failed.
 * - A MessagePort (Electron) cannot be dialled again: opens fail until the window hands a new port.
 *   The worker says so (`portLost`), and the window asks the preload for fresh ports (its own and the
 *   worker's), which main hands it as it does after a peer restart.
 * Meanwhile the window's editors stay as they are, and what is typed is kept (a peer that restarts
 * drops the window's connection too, and the window remounts them once it is back). When the worker's
 * own redial succeeds, each open document is told (`ReplicaHost.reconnected`) and the window opens it
 * again on the new session, which sends whatever was typed in between.
 */
import { GrapevineError } from '../../../shared/protocol.ts'
import { createRpcClient, type FrameChannel } from '../../../shared/rpc.ts'
import { checkedClient } from '../data/checked-client.ts'
import { redialDelayMs } from '../lib/backoff.ts'
import type { EditorVia } from '../transport.ts'
import type { ReplicaHost } from './replica-host.ts'

export interface WorkerSessionDeps {
  openWebSocket(url: string): Promise<FrameChannel>
  portChannel(port: MessagePort): FrameChannel
  /** Runs `fn` after `ms` (the redial's backoff). */
  later(fn: () => void, ms: number): void
  /** The MessagePort's session closed alone: tells the window, which asks for fresh ports. */
  portLost(): void
  warn(message: string, detail?: unknown): void
}

type SessionHost = Pick<ReplicaHost, 'connect' | 'connectFailed' | 'disconnected' | 'reconnected'>

export class WorkerSession {
  private readonly host: SessionHost
  private readonly deps: WorkerSessionDeps
  private generation = 0
  private session: { close(): void } | null = null
  /** Redials since the last session opened (the backoff). */
  private redials = 0

  constructor(host: SessionHost, deps: WorkerSessionDeps) {
    this.host = host
    this.deps = deps
  }

  /** The window's new connection: the session follows it (the one before is closed). */
  connect(via: EditorVia): Promise<void> {
    const gen = ++this.generation
    this.redials = 0
    return this.dial(gen, via, false)
  }

  /** Closes the session and dials no more (the worker otherwise keeps one for the window's life). */
  stop(): void {
    this.generation++
    this.session?.close()
    this.session = null
  }

  private async dial(gen: number, via: EditorVia, again: boolean): Promise<void> {
    this.session?.close()
    this.session = null
    let channel: FrameChannel | null = null
    try {
      channel = 'port' in via ? this.deps.portChannel(via.port) : await this.deps.openWebSocket(via.url)
      if (gen !== this.generation) return channel.close()
      const rpc = createRpcClient(channel)
      this.session = rpc
      const client = checkedClient(rpc, (e) => this.deps.warn('the editor worker dropped a malformed event from the peer', e))
      // Only its documents' events: the window's own session is told the rest.
      await client.request('session.configure', { events: 'open-docs' })
      if (gen !== this.generation) return
      // Registered last: a channel that closes before this point failed the request above instead.
      channel.onClose(() => {
        if (gen === this.generation && this.session === rpc) this.dropped(gen, via)
      })
      if (again) this.host.reconnected(client)
      else this.host.connect(client)
      this.redials = 0
    } catch (err) {
      if (gen !== this.generation) return
      this.session = null
      channel?.close()
      // A WebSocket is dialled again, the first time too: the window's own connection is up, so this one
      // failed by chance (a peer slow to answer under load), and the editor must not stay without a session
      // until the window's connection changes. A MessagePort cannot be: opens fail until the window hands one.
      if (again || !('port' in via)) {
        if (!again) this.deps.warn('the editor worker could not reach the peer: dialling it again', err)
        this.redial(gen, via)
      } else this.host.connectFailed(err instanceof Error ? err : new GrapevineError('unreachable', String(err)))
    }
  }

  /** The current session closed, not by us. */
  private dropped(gen: number, via: EditorVia): void {
    this.session = null
    if ('port' in via) {
      this.host.disconnected(new GrapevineError('unreachable', "The editor's connection to the peer closed."))
      this.deps.portLost()
      return
    }
    this.deps.warn("the editor worker's connection to the peer closed: dialling it again")
    this.host.disconnected(null)
    this.redial(gen, via)
  }

  private redial(gen: number, via: EditorVia): void {
    const wait = redialDelayMs(this.redials++)
    this.deps.later(() => {
      if (gen === this.generation) void this.dial(gen, via, true)
    }, wait)
  }
}
