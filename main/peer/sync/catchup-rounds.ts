/**
 * The periodic catch-up: the safety net behind the live path and gossip (a frame lost on a stream
 * that broke, a message that reached nobody). Every teammate and shared workspace gets a session at
 * least once per interval, but the sessions of a round are spread over the interval, one every
 * interval ÷ pairs, instead of all starting together; and a pair whose last session (either side's)
 * ended within most of the interval is skipped, since the teammate's own round covered it.
 *
 * Why: with every session of a round started at once, a peer of a team of 8 ran 7 sessions together
 * every 30 s, and each teammate did the same: while the team types their documents differ by what
 * is in flight, so every session reconciles and sends, and the event loop was busy for 100–250 ms
 * at a stretch (a CPU profile of W7's peer 2), which every keystroke arriving then waited behind:
 * most of W7's worst deliveries.
 */

/** A pair is skipped when a session of it ended within this much of an interval. */
const SKIP_WITHIN = 0.9

export interface CatchupRoundsComponents<P> {
  /** The teammates connected now and the workspaces shared with each: the pairs a round covers. */
  pairs: () => { peer: P; key: string; ws: string }[]
  /** Whether the teammate is still connected when its turn comes (a round does not dial anyone). */
  connected: (key: string) => boolean
  /** Runs one session unless one (either side's) ended after `unlessSyncedSince` (Catchup.sync); logs its failure. */
  sync: (peer: P, ws: string, unlessSyncedSince: number) => Promise<void>
  intervalMs: number
  /** In [0, 1): how much later than one interval the first round starts (up to a tenth more), so that peers started together do not run in step. */
  random?: () => number
  now?: () => number
}

export class CatchupRounds<P> {
  private readonly c: CatchupRoundsComponents<P>
  private timer: NodeJS.Timeout | null = null
  /** The pairs of the round under way not started yet, and how many it had. */
  private queue: { peer: P; key: string; ws: string }[] = []
  private roundSize = 0
  private stopped = false

  constructor(components: CatchupRoundsComponents<P>) {
    this.c = components
  }

  start(): void {
    const { intervalMs, random = Math.random } = this.c
    // The first round starts about one interval from now, as the first tick of a plain interval did.
    this.wait(intervalMs * (1 + random() / 10))
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private wait(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => this.next(), ms)
    this.timer.unref()
  }

  /** Starts the next session of the round (a new round when this one is done), then waits one step. */
  private next(): void {
    const { intervalMs, now = Date.now } = this.c
    if (this.queue.length === 0) {
      // A pair seen twice (a teammate connected twice) is one session.
      const seen = new Set<string>()
      this.queue = this.c.pairs().filter((p) => !seen.has(`${p.key}/${p.ws}`) && seen.add(`${p.key}/${p.ws}`))
      this.roundSize = this.queue.length
      if (this.roundSize === 0) {
        this.wait(intervalMs)
        return
      }
    }
    const pair = this.queue.shift()!
    // Skipped if a session ended within the last 0.9 interval: the pair's own previous one, a little over an
    // interval ago, does not count (then every other round would be skipped), a teammate's since does.
    if (this.c.connected(pair.key)) void this.c.sync(pair.peer, pair.ws, now() - intervalMs * SKIP_WITHIN).catch(() => {})
    this.wait(intervalMs / this.roundSize)
  }
}
