/**
 * Clients' requests while the peer's network starts. The profile is open before the libp2p node
 * listens (peer.ts): what the store alone answers (the listing, a document's text, the board) is
 * answered at once, so a window shows the documents without waiting for the network; anything else
 * waits for the start, tens of milliseconds. A session's requests keep their order: once one waits,
 * every later one of that session waits behind it, a read too (it must see the edit asked before it).
 */
import { GrapevineError, type ClientMethod } from '../../../shared/protocol.ts'

/** Methods answered from this device's own store, with nothing sent or published. */
const LOCAL_READS: ReadonlySet<string> = new Set<ClientMethod>([
  'identity.get',
  'session.configure',
  'workspace.list',
  'workspace.members',
  'doc.list',
  'doc.read',
  'doc.open',
  'board.read',
  'search.query',
  'tasks.mine',
])

export class StartGate {
  private settled = false
  private failure: Error | null = null
  private readonly started: Promise<void>

  constructor(started: Promise<void>) {
    this.started = started
    // Registered first: it runs before the requests held on the same promise resume.
    started.then(
      () => {
        this.settled = true
      },
      (err: unknown) => {
        this.settled = true
        this.failure = err instanceof Error ? err : new Error(String(err))
      },
    )
  }

  /**
   * Resolves when `method` may run for a session (`held`: how many of its requests wait here). Throws, once
   * the start failed, for a method that needs the network.
   */
  async pass(method: string, session: { held: number }): Promise<void> {
    if (!this.settled) {
      if (LOCAL_READS.has(method) && session.held === 0) return
      session.held++
      try {
        await this.started.catch(() => {})
      } finally {
        session.held--
      }
    }
    if (this.failure && !LOCAL_READS.has(method)) {
      throw new GrapevineError('unreachable', `The network could not start: ${this.failure.message}`)
    }
  }
}
