/**
 * Runs the convergence simulation: the team is formed once, then trial after trial, each with its own
 * seed drawn from the run's (GRAPEVINE_SEED replays a run); GRAPEVINE_SIM_SEED=<n> replays one trial.
 * Used by convergence.test.ts (a bounded number of trials in `npm test`) and scripts/soak.ts.
 */
import { seededRandom, type Random } from '../random.ts'
import { buildTemplate } from './template.ts'
import { runTrial, TrialFailure, type TrialOptions, type TrialResult } from './trial.ts'

export interface SimulationOptions {
  /** Printed with the run's seed. */
  label: string
  trials: number
  /** The chance that a trial has a kill -9 phase. */
  killChance: number
  syncStatus: TrialOptions['syncStatus']
  /** Told after each trial passes (progress). */
  onTrial?: (index: number, seed: number, result: TrialResult) => void
}

export interface SimulationSummary {
  /** Trials to run: as asked, or 1 when GRAPEVINE_SIM_SEED replays one. */
  planned: number
  trials: number
  ms: number
  slowestMs: number
  peers: Record<number, number>
  counts: Record<string, number>
  /** Trials whose sync status was looked at after convergence. */
  statusChecked: number
  /** Seeds of those where it was still stale (reported, not failed, unless strict). */
  staleStatus: number[]
}

/** A whole number of trials of at least 1 from `name` in the environment (or `fallback`); anything else throws. */
export function trialsSetting(name: string, fallback: number): number {
  const given = process.env[name] || String(fallback)
  const n = Number(given)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a whole number of at least 1 (got '${given}'): with no trial nothing is tested`)
  return n
}

/**
 * How sync status is looked at: by default in one trial in ten, and a trial whose status is still
 * stale 3 s after convergence fails; GRAPEVINE_SIM_SYNC_STATUS=strict looks in every trial,
 * `report` only reports.
 */
export function syncStatusSetting(): TrialOptions['syncStatus'] {
  const given = process.env['GRAPEVINE_SIM_SYNC_STATUS'] ?? ''
  if (given === 'strict') return { chance: 1, waitMs: 3_000, strict: true }
  if (given === 'report') return { chance: 0.1, waitMs: 3_000, strict: false }
  if (given !== '') throw new Error(`GRAPEVINE_SIM_SYNC_STATUS must be 'strict' or 'report', got '${given}'`)
  return { chance: 0.1, waitMs: 3_000, strict: true }
}

/** GRAPEVINE_SIM_SEED: the seed of one trial to replay, alone. */
function replaySeed(): number | undefined {
  const given = process.env['GRAPEVINE_SIM_SEED']
  if (given === undefined || given === '') return undefined
  const n = Number(given)
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`GRAPEVINE_SIM_SEED must be an integer in [0, 2^32), got '${given}'`)
  return n
}

/** The failure's message with its replay line, the trial's schedule and its peers' warnings. */
function report(trial: string, seed: number, err: unknown): Error {
  const replay = `${trial} failed: replay with GRAPEVINE_SIM_SEED=${seed}`
  if (!(err instanceof TrialFailure)) return new Error(`${replay}\n${String(err)}`, { cause: err })
  const lines = [
    replay,
    err.message,
    'schedule:',
    ...err.schedule.map((l) => `  ${l}`),
    ...(err.logs.length ? ['warnings and errors the peers logged:', ...err.logs.map((l) => `  ${l}`)] : []),
    replay,
  ]
  return new Error(lines.join('\n'), { cause: err })
}

export async function runSimulation(opts: SimulationOptions): Promise<SimulationSummary> {
  const started = performance.now()
  const single = replaySeed()
  const sources: (() => Random)[] = []
  if (single !== undefined) sources.push(() => seededRandom(`${opts.label}: one trial`, single))
  else {
    const run = seededRandom(opts.label)
    // Each trial's source is forked from the run's in turn: its seed depends on the run's seed and its index only.
    for (let i = 0; i < opts.trials; i++) sources.push(() => run.fork())
  }
  const summary: SimulationSummary = {
    planned: sources.length,
    trials: 0,
    ms: 0,
    slowestMs: 0,
    peers: {},
    counts: {},
    statusChecked: 0,
    staleStatus: [],
  }
  const template = await buildTemplate()
  try {
    for (const [index, source] of sources.entries()) {
      const rnd = source()
      let result: TrialResult
      try {
        result = await runTrial(template, rnd, { killChance: opts.killChance, syncStatus: opts.syncStatus })
      } catch (err) {
        throw report(single === undefined ? `trial ${index}` : 'the replayed trial', rnd.seed, err)
      }
      summary.trials++
      summary.slowestMs = Math.max(summary.slowestMs, result.ms)
      summary.peers[result.peers] = (summary.peers[result.peers] ?? 0) + 1
      for (const [k, v] of Object.entries(result.counts)) summary.counts[k] = (summary.counts[k] ?? 0) + v
      if (result.status.checked) summary.statusChecked++
      if (result.status.stale.length) summary.staleStatus.push(rnd.seed)
      if (process.env['GRAPEVINE_SIM_VERBOSE'])
        console.log(
          `trial ${index} (seed ${rnd.seed}):\n${[...result.schedule, 'logged:', ...result.logs].map((l) => `  ${l}`).join('\n')}`,
        )
      opts.onTrial?.(index, rnd.seed, result)
    }
  } finally {
    template.remove()
  }
  summary.ms = performance.now() - started
  return summary
}
