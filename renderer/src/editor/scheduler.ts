/** When batched work runs: the replica's sends and remote applies happen once per frame. */

/** Runs `fn` soon, once: the next animation frame in a page. */
export type Scheduler = (fn: () => void) => void

/** The next animation frame, or a short timeout where frames are paused (a hidden window). */
export const frameScheduler: Scheduler = (fn) => {
  let done = false
  const run = (): void => {
    if (done) return
    done = true
    fn()
  }
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run)
  setTimeout(run, 50)
}
