/**
 * `npm test`: typecheck, lint, build the UI, then every test file, two at a time.
 *
 * - Each test file runs in a `node --test` process of its own, in one of two lanes (this machine has
 *   2 cores); a lane takes the next file as soon as its last one ends. A file's output is held and
 *   printed whole when it ends, with its time, so two files never interleave.
 * - The convergence simulation (main/peer/test/convergence.test.ts, 200 trials, a quarter of the suite's
 *   time) starts first, while the typecheck, lint and build run; the other lane starts on the other files
 *   after them, and the simulation's lane joins it when the simulation ends.
 * - At the end: the slowest files, and each failing file's failures again.
 *
 * One lane with every other file, one at a time, took 760–960 s beside the simulation's lane, which sat
 * idle for the last 450 of them. The exit code is non-zero if any step or any test failed; a step that
 * fails stops the rest. Arguments after `--` are passed to every `node --test` run (e.g.
 * `npm test -- --test-name-pattern=board`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { globSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where the test files are; the simulation is started first, on its own. */
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

interface FileResult {
  file: string
  code: number
  seconds: number
  out: string
}
const results: FileResult[] = []

/** Runs one test file in a process of its own and prints its output whole when it ends. */
async function runFile(file: string, flags: string[]): Promise<void> {
  const t0 = performance.now()
  const r = await run(process.execPath, [...flags, ...extra, file], { capture: true }).done
  const result = { file, code: r.code, seconds: (performance.now() - t0) / 1000, out: r.out.trimEnd() }
  results.push(result)
  console.log(`\n── ${file} (${result.seconds.toFixed(1)} s${r.code === 0 ? '' : ', FAILED'}) ──\n${result.out}`)
}

const started = performance.now()
// The simulation needs nothing the steps below make: it starts at once.
const simLane = runFile(OWN_LANE, SIM_FLAGS)

for (const step of ['typecheck', 'lint', 'build:renderer']) {
  const r = await run('npm', ['run', step], { shell: process.platform === 'win32' }).done
  if (r.code !== 0) {
    console.error(`\nnpm test: '${step}' failed; stopping.`)
    stopAll()
    process.exit(1)
  }
}

const queue = [...files]
async function lane(): Promise<void> {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file, TEST_FLAGS)
}
await Promise.all([lane(), simLane.then(lane)])

const count = (what: string): number => results.reduce((n, r) => n + Number(new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(r.out)?.[1] ?? 0), 0)
const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8)
console.log(`\nslowest files: ${slowest.map((r) => `${r.file} ${r.seconds.toFixed(0)} s`).join(', ')}`)
const failedFiles = results.filter((r) => r.code !== 0)
for (const r of failedFiles) {
  // Node's own summary of the file's failures, or its last lines when it ended before printing one.
  const at = r.out.indexOf('✖ failing tests:')
  const tail = at >= 0 ? r.out.slice(at) : r.out.split('\n').slice(-40).join('\n')
  console.log(`\n── FAILED: ${r.file} ──\n${tail}`)
}
console.log(
  `\nnpm test: ${failedFiles.length > 0 ? 'FAILED' : 'all passed'} in ${((performance.now() - started) / 1000).toFixed(0)} s ` +
    `(${results.length} files, two at a time: ${count('tests')} tests, ${count('pass')} passed, ${count('fail')} failed, ` +
    `${count('skipped')} skipped${failedFiles.length > 0 ? `; failing files: ${failedFiles.map((r) => r.file).join(', ')}` : ''})`,
)
process.exit(failedFiles.length > 0 ? 1 : 0)
