/** Leading-and-trailing throttle: the first call goes at once, later ones at most every `ms`. */
export interface Throttled<A extends unknown[]> {
  (...args: A): void
  /** Sends a pending trailing call now. */
  flush(): void
  cancel(): void
}

export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number, now: () => number = Date.now): Throttled<A> {
  let last = -Infinity
  let pending: A | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
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
    else timer ??= setTimeout(fire, Math.max(0, wait))
  }) as Throttled<A>
  throttled.flush = () => {
    if (timer) clearTimeout(timer)
    fire()
  }
  throttled.cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
    pending = null
  }
  return throttled
}
