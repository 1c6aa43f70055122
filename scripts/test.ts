/**
 * `npm test`: typecheck, lint, build the UI, then every test file, in two lanes side by side.
 *
 * - The convergence simulation (main/peer/test/convergence.test.ts, 200 trials) is a quarter of the
 *   suite's time and keeps one core busy on its own: it runs in a lane of its own from the start, its
 *   output held and printed whole when it ends.
 * - Every other file runs in the second lane, one file at a time as before (most of them start several
 *   peer processes, wait on the network and measure), streaming its results.
 *
 * On this 2-core machine this takes the suite from about 14–16 minutes to about 11. The exit code is
 * non-zero if any step or any test failed; a step that fails stops the rest. Arguments after `--` are
 * passed to both `node --test` runs (e.g. `npm test -- --test-name-pattern=board`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { globSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where the test files are; the simulation is the one file run in a lane of its own. */
const PATTERNS = [
  'shared/**/*.test.ts',
  'main/**/*.test.ts',
  'renderer/src/**/*.test.ts',
  'scripts/**/*.test.ts',
  'e2e/**/*.test.ts',
  'bench/**/*.test.ts',
]
const OWN_LANE = 'main/peer/test/convergence.test.ts'
const TEST_FLAGS = ['--test', '--test-concurrency=1', '--test-timeout=300000']
/** The simulation's 200 trials take 3–5 minutes beside the other lane; its own timeout is its whole budget. */
const SIM_FLAGS = ['--test', '--test-timeout=900000']

const extra = process.argv.slice(2)
const children = new Set<ChildProcess>()

function run(
  cmd: string,
  args: string[],
  opts: { capture?: boolean; shell?: boolean } = {},
): { child: ChildProcess; done: Promise<{ code: number; out: string }> } {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', shell: opts.shell ?? false })
  children.add(child)
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d))
  child.stderr?.on('data', (d: Buffer) => (out += d))
  const done = new Promise<{ code: number; out: string }>((resolve) => {
    child.once('error', (err) => {
      children.delete(child)
      resolve({ code: 1, out: `${out}\n${err.message}` })
    })
    child.once('exit', (code, signal) => {
      children.delete(child)
      resolve({ code: code ?? (signal ? 1 : 0), out })
    })
  })
  return { child, done }
}

function stopAll(): void {
  for (const c of children) c.kill('SIGTERM')
}
process.once('SIGINT', () => {
  stopAll()
  process.exit(130)
})
process.once('SIGTERM', () => {
  stopAll()
  process.exit(143)
})

const files = [...new Set(PATTERNS.flatMap((p) => globSync(p, { cwd: ROOT })))]
  .map((f) => f.split('\\').join('/'))
  .filter((f) => !f.includes('node_modules/') && f !== OWN_LANE)
  .sort()

const started = performance.now()
// The simulation needs nothing the steps below make: it starts at once.
const sim = run(process.execPath, [...SIM_FLAGS, ...extra, OWN_LANE], { capture: true })

let failed = false
for (const step of ['typecheck', 'lint', 'build:renderer']) {
  const r = await run('npm', ['run', step], { shell: process.platform === 'win32' }).done
  if (r.code !== 0) {
    console.error(`\nnpm test: '${step}' failed; stopping.`)
    stopAll()
    process.exit(1)
  }
}
const rest = await run(process.execPath, [...TEST_FLAGS, ...extra, ...files]).done
if (rest.code !== 0) failed = true

const s = await sim.done
console.log(`\n── ${OWN_LANE} (ran in a lane of its own, beside the files above) ──\n${s.out.trimEnd()}`)
if (s.code !== 0) failed = true
console.log(
  `\nnpm test: ${failed ? 'FAILED' : 'all passed'} in ${((performance.now() - started) / 1000).toFixed(0)} s ` +
    `(${files.length} files in one lane, the convergence simulation in the other)`,
)
process.exit(failed ? 1 : 0)
