/**
 * How a peer process is started, wherever it is started: by the desktop app (Electron's
 * utilityProcess, main/peer-host.ts), by `npm run peer` and `npm run ui` (package.json), and by the
 * benchmarks (bench/lib/systems.ts) and the e2e harness. `shared/peer-runtime.test.ts` checks the npm
 * scripts, `main/boot.test.ts` the app's fork; the others import this.
 */

/**
 * Node (V8) flags of every peer process.
 *
 * `--max-semi-space-size=8`: V8 sizes its young generation from the heap limit, which on a machine with
 * 24 GiB is about 4 GiB, so a peer's new space grows to 128 MiB under a steady stream of small
 * allocations (every keystroke of every teammate) and stays committed: a long day's RSS grew 7–15 MiB a
 * minute per peer while V8's used heap hardly moved. Capped at 8 MiB per semi-space (16 MiB young
 * generation), the same 6 minutes of W7 (8 peers, 4 typists; bench/results/latest.md, session 19) grew
 * 2–8 MiB a minute from 170 MiB instead of 215, with less CPU (15.2–16.0 % against 16.1–16.7 % of a core)
 * and a lower edit → visible p99. A flag, not a setting at run time: V8 reads it once, when the heap is
 * made (`v8.setFlagsFromString` afterwards changes nothing).
 */
export const PEER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
