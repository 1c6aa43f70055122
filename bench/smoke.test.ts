/**
 * The benchmarks' smoke run in the test suite: every workload at tiny sizes on Grapevine and its
 * anchors, checking consistency only (texts equal, counts right). No timing is asserted. It replays a
 * prefix of the project's trace saved under another name (`BENCH_TRACE`), so the tables must name
 * the trace they actually replayed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { loadTrace, textAfter } from './lib/trace.ts'

const here = dirname(fileURLToPath(import.meta.url))

test('npm run bench -- --smoke completes and its results are consistent', { timeout: 250_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'gv-bench-smoke-'))
  try {
    const keys = 5000
    const trace = join(out, 'paper-prefix.json.gz')
    const txns = loadTrace()
      .keys.slice(0, keys)
      .map((patch) => ({ patches: [patch] }))
    writeFileSync(trace, gzipSync(JSON.stringify({ startContent: '', endContent: textAfter(keys), txns })))
    const child = spawn(process.execPath, [join(here, 'run.ts'), '--smoke', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_TRACE: trace },
    })
    let log = ''
    child.stdout.on('data', (d: Buffer) => (log += d))
    child.stderr.on('data', (d: Buffer) => (log += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    const code = await new Promise<number | null>((r) => child.once('exit', r))
    clearTimeout(timer)
    assert.equal(code, 0, `the smoke run failed:\n${log.slice(-4000)}`)
    const md = readFileSync(join(out, 'smoke.md'), 'utf8')
    for (const w of ['W1', 'W1b', 'W6', 'W4', 'W2', 'W3', 'W5', 'W7', 'W8'])
      assert.match(md, new RegExp(`## ${w} —`), `${w} is in the results`)
    assert.doesNotMatch(md, /Consistency failures/)
    assert.match(md, /keystrokes of the paper-prefix trace typed by A/, 'the W4 table names the trace it replayed')
    assert.match(md, /\| 100 \| 1 doc \| floor: bare Automerge, applied as changes/, 'W2 has its floor')
    assert.match(md, /\| floor \| the live path's hops at 10 a second \(4 processes, no app code\) \| \d/, "W1 has the live path's floor")
    assert.match(md, /\*\*The floor of this path\.\*\*/, "W1 sets the path's floor against Yjs's")
    assert.match(
      md,
      /\| typing \(10 keys\/s\) \| floor: FULL, a row of Grapevine's change log \(3 indexes\) \| \d/,
      'W6 has the change-log floor',
    )
    assert.match(md, /\*\*What the typing goal leaves for the peer\.\*\*/, 'W6 says what its typing goal leaves for the peer')
    assert.doesNotMatch(md, /automerge-paper/, 'no table names a trace that was not replayed')
    // W1b needs Chromium: where there is none it says why and draws nothing.
    const svgs = ['w1-latency.svg', 'w6-durable.svg', 'w7-long-day.svg', ...(/W1b did not run/.test(md) ? [] : ['w1b-ui.svg'])]
    for (const svg of svgs) assert.ok(existsSync(join(out, svg)), `${svg} was written`)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
