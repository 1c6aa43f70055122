/**
 * `npm run soak`: the convergence simulation of main/peer/test/sim/ at length: 10,000 seeded trials
 * (GRAPEVINE_SIM_TRIALS sets another number), with the same faults as the bounded run in `npm test`.
 * Prints the run's seed first (GRAPEVINE_SEED=<n> replays the run), then progress about every 30 s;
 * a failing trial prints `trial N failed: replay with GRAPEVINE_SIM_SEED=<n>` with its schedule, and
 * the script exits 1. Hours long: about a second per trial on a 2-core machine.
 */
import { runSimulation, syncStatusSetting, trialsSetting } from '../main/peer/test/sim/run.ts'

const trials = trialsSetting('GRAPEVINE_SIM_TRIALS', 10_000)
const started = performance.now()
let reported = started

const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`

try {
  const summary = await runSimulation({
    label: 'soak',
    trials,
    killChance: 0.08,
    syncStatus: syncStatusSetting(),
    onTrial: (index, seed, result) => {
      const now = performance.now()
      if (now - reported < 30_000 && index !== trials - 1) return
      reported = now
      const done = index + 1
      const eta = ((now - started) / done) * (trials - done)
      console.log(
        `${done}/${trials} trials passed in ${minutes(now - started)} (about ${minutes(eta)} to go); ` +
          `last: seed ${seed}, ${result.peers} peers, ${result.steps} steps, ${result.ms.toFixed(0)} ms`,
      )
    },
  })
  console.log(
    `all ${summary.trials} trials passed in ${minutes(summary.ms)} (slowest ${summary.slowestMs.toFixed(0)} ms); ` +
      `peers per trial ${JSON.stringify(summary.peers)}; steps and faults ${JSON.stringify(summary.counts)}`,
  )
  if (summary.staleStatus.length)
    console.log(
      `sync status still stale after convergence in ${summary.staleStatus.length} of ${summary.statusChecked} trials looked at ` +
        `(seeds ${summary.staleStatus.slice(0, 10).join(', ')})`,
    )
  process.exit(0)
} catch (err) {
  // The failed trial, its replay seed and its schedule.
  console.error((err as Error).message)
  process.exit(1)
}
