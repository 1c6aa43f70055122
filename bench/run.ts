/**
 * `npm run bench`: every workload on Grapevine and on its anchors (automerge-repo, Yjs) and floors,
 * in one run; prints a table per workload and writes bench/results/latest.md with SVG charts.
 *
 *   node bench/run.ts                 full sizes (about 30 minutes on 2 cores: W7 alone types for 10)
 *   node bench/run.ts --smoke         tiny sizes, consistency checks only (under two minutes)
 *   node bench/run.ts --only w1,w6    some workloads (w1 w1b w6 w4 w2 w3 w5 w7)
 *   node bench/run.ts --out DIR       where results go (default bench/results; --smoke writes none unless given)
 *
 * Exits 1 when a consistency check fails (texts differ, counts wrong, a workload errors).
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Report, tableText, writeResults } from './lib/report.ts'
import { machineInfo } from './lib/machine.ts'
import { tempRoot } from './lib/systems.ts'
import { runW1, W1_FULL, W1_SMOKE } from './w1-latency.ts'
import { runW6, W6_FULL, W6_SMOKE } from './w6-durable.ts'
import { runW4, W4_FULL, W4_SMOKE } from './w4-trace.ts'
import { runW2, W2_FULL, W2_SMOKE } from './w2-catchup.ts'
import { runW3, W3_FULL, W3_SMOKE } from './w3-cold-open.ts'
import { runW5, W5_FULL, W5_SMOKE } from './w5-many-docs.ts'
import { runW1b, W1B_FULL, W1B_SMOKE } from './w1b-ui.ts'
import { runW7, W7_FULL, W7_SMOKE } from './w7-long-day.ts'
import { runW8, W8_FULL, W8_SMOKE } from './w8-history.ts'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: { smoke: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } },
})
const smoke = values.smoke!
const only = new Set(
  (values.only ?? 'w1,w1b,w6,w4,w2,w3,w5,w7,w8')
    .toLowerCase()
    .split(',')
    .map((s) => s.trim()),
)

const WORKLOADS: [string, (r: Report) => Promise<void>][] = [
  ['w1', (r) => runW1(r, smoke ? W1_SMOKE : W1_FULL)],
  ['w1b', (r) => runW1b(r, smoke ? W1B_SMOKE : W1B_FULL)],
  ['w6', (r) => runW6(r, smoke ? W6_SMOKE : W6_FULL)],
  ['w4', (r) => runW4(r, smoke ? W4_SMOKE : W4_FULL)],
  ['w2', (r) => runW2(r, smoke ? W2_SMOKE : W2_FULL)],
  ['w3', (r) => runW3(r, smoke ? W3_SMOKE : W3_FULL)],
  ['w5', (r) => runW5(r, smoke ? W5_SMOKE : W5_FULL)],
  ['w7', (r) => runW7(r, smoke ? W7_SMOKE : W7_FULL)],
  ['w8', (r) => runW8(r, smoke ? W8_SMOKE : W8_FULL)],
]

const report = new Report()
const started = performance.now()
const machine = machineInfo(join(here, '..'))
console.log(`Grapevine benchmarks (${smoke ? 'smoke' : 'full'} sizes)\n${machine.lines.join('\n')}\n`)
const timings: string[] = []
try {
  for (const [id, run] of WORKLOADS) {
    if (!only.has(id)) continue
    const t0 = performance.now()
    const before = report.sections.length
    try {
      await run(report)
    } catch (err) {
      report.check(false, `${id} failed: ${(err as Error).stack ?? err}`)
    }
    for (const s of report.sections.slice(before)) for (const t of s.tables) console.log(`\n${tableText(t)}`)
    timings.push(`${id.toUpperCase()} ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }
} finally {
  rmSync(tempRoot(), { recursive: true, force: true })
}

const total = (performance.now() - started) / 1000
// A smoke run writes files only where it is told to (the smoke test gives a temp folder).
const outDir = values.out ?? (smoke ? null : join(here, 'results'))
const header = [
  `# Grapevine benchmarks — ${smoke ? 'smoke run (tiny sizes; numbers mean nothing)' : 'latest results'}`,
  'Produced by `npm run bench` (`node bench/run.ts`); see [bench/README.md](../README.md) for what each workload does and how to reproduce it.',
  machine.lines.join('\n'),
  `- Workloads run: ${timings.join(', ')}; total ${total.toFixed(0)} s; load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
  [
    '**Scope and caveats.** Every process runs on this one 2-core machine, shared with other work: absolute numbers move between runs, ratios less.',
    'W1 has 3 rounds per N, W6 3 repetitions per mode, W3 3 fresh processes per system, W4 3 repetitions in alternating order (median with min–max);',
    'W2 and W5 run once per cell to keep the run short, so they show no spread. Yjs has no row in W3 and W6 (y-websocket keeps no storage in Node); automerge-repo and Yjs run',
    "W5 at 1,000 documents only. The Grapevine editor reaches its peer over the peer's Unix control socket, not Electron's MessagePort.",
    'W1b (Grapevine through the UI, headless Chromium with software rendering) and W7 (a long day) measure Grapevine only and run once per cell.',
  ].join('\n'),
].join('\n\n')
if (outDir) console.log(`\nResults: ${writeResults(report, outDir, header, smoke ? 'smoke.md' : 'latest.md')} (${total.toFixed(0)} s)`)
else console.log(`\nDone in ${total.toFixed(0)} s (smoke run: no files written; --out DIR to keep them).`)
if (report.failures.length) {
  console.log(`\n${report.failures.length} consistency check(s) failed:\n${report.failures.map((f) => `- ${f}`).join('\n')}`)
  process.exit(1)
}
process.exit(0)
