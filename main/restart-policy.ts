/**
 * When the peer process dies unexpectedly, main starts it again: quickly the first time, slower
 * each time it keeps dying, and not at all after too many deaths in a minute (a peer that crashes
 * on start would otherwise spin a core and flood the log). Pure, so the policy is tested alone.
 */

export interface RestartPolicy {
  /** Restarts allowed within `windowMs`; one more death within it gives up. */
  maxRestarts: number
  windowMs: number
  /** Delay before the 1st, 2nd, … restart within the window (the last one repeats). */
  delaysMs: readonly number[]
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  delaysMs: [250, 1_000, 2_000, 5_000, 10_000],
}

export type RestartDecision = { action: 'restart'; delayMs: number; attempt: number } | { action: 'give-up'; restartsInWindow: number }

/** What to do after an unexpected exit at `now`, given the times of earlier restarts. */
export function decideRestart(
  restartTimes: readonly number[],
  now: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const recent = restartTimes.filter((t) => now - t < policy.windowMs)
  if (recent.length >= policy.maxRestarts) return { action: 'give-up', restartsInWindow: recent.length }
  const delays = policy.delaysMs
  const delayMs = delays[Math.min(recent.length, delays.length - 1)] ?? 0
  return { action: 'restart', delayMs, attempt: recent.length + 1 }
}

/** Keeps only the restart times that still count (bounded memory over a long session). */
export function pruneRestartTimes(restartTimes: readonly number[], now: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number[] {
  return restartTimes.filter((t) => now - t < policy.windowMs)
}
