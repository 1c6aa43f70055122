/**
 * Catch-up sessions of one workspace on this device take turns, whichever teammate each is with and
 * whichever side dialled. A device back after a while connects to every teammate online at once, and
 * each session found the same documents behind and sent the same history: with two teammates online a
 * device back took 4,000 changes for the 2,000 typed while it was away, one more copy per teammate
 * (session 38, a throwaway three-peer run). Taking turns, the second session starts from what the first
 * brought and finds the workspace equal, or nearly.
 *
 * A turn passes to the next session when its own ends, or once it has moved no frame for `stallMs`: a
 * session that waits for the other side, which may wait for a turn there (sessions on three devices can
 * wait on each other in a ring), or that has stalled holds the others up no longer than that, and they
 * then run side by side as they did before turns. A session that moves frames keeps its turn, but the
 * next one waits at most `maxWaitMs` in all: a slow session (a teammate reached through a relay) holds
 * up one with a teammate on the LAN no longer than that.
 */

export interface WorkspaceTurn {
  /** Whether it waited for another session of its workspace. */
  readonly waited: boolean
  /** The session moved a frame (either way): it keeps its turn for another `stallMs`. */
  touch(): void
  /** The session ended, well or not: the next one goes. */
  end(): void
}

/** A turn as the next session sees it: whether it has passed on, and when it does. */
interface Held {
  open: boolean
  passed: Promise<void>
}

export class WorkspaceTurns {
  private readonly stallMs: number
  private readonly maxWaitMs: number
  /** Per workspace, the last turn taken (running or waiting for its own). */
  private readonly last = new Map<string, Held>()

  constructor(stallMs: number, maxWaitMs: number) {
    this.stallMs = stallMs
    this.maxWaitMs = maxWaitMs
  }

  /** Waits for the sessions of `ws` that took a turn before this one (at most `maxWaitMs`), then gives this one its turn. */
  async take(ws: string): Promise<WorkspaceTurn> {
    const before = this.last.get(ws)
    let resolve!: () => void
    const held: Held = { open: true, passed: new Promise<void>((r) => (resolve = r)) }
    this.last.set(ws, held)
    let timer: NodeJS.Timeout | undefined
    let ended = false
    const pass = (): void => {
      held.open = false
      resolve()
    }
    const end = (): void => {
      if (ended) return
      ended = true
      clearTimeout(timer)
      if (this.last.get(ws) === held) this.last.delete(ws)
      pass()
    }
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(pass, this.stallMs)
      timer.unref()
    }
    const waited = before?.open === true
    if (waited) {
      let cap: NodeJS.Timeout | undefined
      const capped = new Promise<void>((resolve) => {
        cap = setTimeout(resolve, this.maxWaitMs)
        cap.unref()
      })
      await Promise.race([before.passed, capped])
      clearTimeout(cap)
    }
    arm()
    return {
      waited,
      touch: () => {
        if (!ended && held.open) arm()
      },
      end,
    }
  }
}
