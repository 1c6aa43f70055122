/** The benchmark's trace is carried by the project (bench/data/) and read from there by default. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadTrace, textAfter, TRACE_NAME, TRACE_PATH } from './lib/trace.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

test('the default trace is the automerge-paper inside the repository', {
  skip: process.env['BENCH_TRACE'] ? 'BENCH_TRACE is set' : false,
}, () => {
  const where = relative(ROOT, resolve(TRACE_PATH))
  assert.equal(where, 'bench/data/automerge-paper.json.gz', 'read from the project, never from a folder beside it')
  assert.equal(TRACE_NAME, 'automerge-paper')
  const trace = loadTrace()
  assert.equal(trace.keys.length, 259_778)
  assert.equal(trace.endContent.length, 104_852)
  // A prefix replayed as splices is the text the benchmark expects at that point.
  assert.equal(
    textAfter(3).length,
    trace.keys.slice(0, 3).reduce((n, [, del, ins]) => n - del + ins.length, 0),
  )
})
