/**
 * Leading-and-trailing throttle: the first call goes at once, later ones at most every `ms`. Used by
 * the window (presence, typing) and by the peer (how often clients hear that a listing changed).
 */

// shared/ compiles without Node or DOM types; every process it runs in has these timers.
type Timer = unknown
const timers = globalThis as unknown as { setTimeout(fn: () => void, ms: number): Timer; clearTimeout(t: Timer): void }

export interface Throttled<A extends unknown[]> {
  (...args: A): void
  /** Sends a pending trailing call now. */
  flush(): void
  cancel(): void
}

export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number, now: () => number = Date.now): Throttled<A> {
  let last = -Infinity
  let pending: A | null = null
  let timer: Timer | null = null
  const fire = (): void => {
    timer = null
    if (!pending) return
    const args = pending
    pending = null
    last = now()
    fn(...args)
  }
  const throttled = ((...args: A) => {
    pending = args
    const wait = last + ms - now()
    if (wait <= 0 && !timer) fire()
    else timer ??= timers.setTimeout(fire, Math.max(0, wait))
  }) as Throttled<A>
  throttled.flush = () => {
    if (timer) timers.clearTimeout(timer)
    fire()
  }
  throttled.cancel = () => {
    if (timer) timers.clearTimeout(timer)
    timer = null
    pending = null
  }
  return throttled
}

/** `fn` run once at a time: a call while one runs gets that run's promise. */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null
  return () => {
    running ??= fn().finally(() => {
      running = null
    })
    return running
  }
}
