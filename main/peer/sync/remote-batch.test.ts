/**
 * RemoteBatch with a stand-in write path (it records what it is handed): large changes are handed over
 * alone, a turn of the event loop apart, in the order they came with what came around them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { silentLog } from '../log.ts'
import { DECODE_BELOW_BYTES } from './change-read.ts'
import type { ValidChange } from './change-validation.ts'
import { RemoteBatch } from './remote-batch.ts'

/** A change as the batch sees it: only its name and size matter here. */
const change = (hash: string, bytes: number): ValidChange =>
  ({ hash, plain: new Uint8Array(bytes), bytes: new Uint8Array(bytes), n: 1 }) as unknown as ValidChange

function batchWith(log: string[]): RemoteBatch {
  return new RemoteBatch({
    store: { documentWorkspace: () => 'ws' },
    persist: async (_ws, _doc, changes) => {
      log.push(changes.map((c) => c.hash).join('+'))
      // A large apply takes a while: long enough for a timer of 0 ms to be due after it.
      if (changes.some((c) => c.plain!.byteLength >= DECODE_BELOW_BYTES)) {
        const until = performance.now() + 3
        while (performance.now() < until);
      }
    },
    batchMs: 5,
    hurry: () => {},
    log: silentLog,
  })
}

test('large changes are applied alone, a turn apart, in order with what comes around and after them', async () => {
  const log: string[] = []
  const batch = batchWith(log)
  // Timers run between two turns: a "turn" logged between two applies means the event loop was free there.
  let ticking = true
  const tick = (): void => {
    if (!ticking) return
    if (log.at(-1) !== 'turn') log.push('turn')
    setTimeout(tick, 0)
  }
  tick()
  const big = DECODE_BELOW_BYTES
  const first = batch.ingest('ws', 'd', [change('a', 100), change('b', 100)])
  const second = batch.ingest('ws', 'd', [change('c', 100), change('L1', big), change('L2', big * 2), change('e', 100)])
  const third = batch.ingest('ws', 'd', [change('f', 100)])
  assert.ok(batch.has('d'), 'buffered while they wait')
  await Promise.all([first, second, third])
  await batch.settle()
  ticking = false
  const applied = log.filter((l) => l !== 'turn')
  assert.deepEqual(applied, ['a+b', 'c', 'L1', 'L2', 'e', 'f'], 'in the order they came (what was buffered first), each large one alone')
  const at = (name: string): number => log.indexOf(name)
  assert.ok(log.slice(at('L1') + 1, at('L2')).includes('turn'), `a turn of the event loop between the two large ones: ${log.join(' ')}`)
  assert.equal(batch.has('d'), false)
})

test('small changes alone are batched as before: one call for a burst', async () => {
  const log: string[] = []
  const batch = batchWith(log)
  await batch.ingest('ws', 'd', [change('a', 100)])
  const burst = [batch.ingest('ws', 'd', [change('b', 100)]), batch.ingest('ws', 'd', [change('c', 100)])]
  await Promise.all(burst)
  await batch.settle()
  assert.deepEqual(log, ['a', 'b+c'])
})

/** A RemoteBatch whose stand-in write path takes `costMs` (a busy loop, as an apply is) and records when each batch began and ended. */
function timedBatch(batchMs: number, costMs: number): { batch: RemoteBatch; applied: { hashes: string; start: number; end: number }[] } {
  const applied: { hashes: string; start: number; end: number }[] = []
  const batch = new RemoteBatch({
    store: { documentWorkspace: () => 'ws' },
    persist: async (_ws, _doc, changes) => {
      const start = performance.now()
      while (performance.now() < start + costMs);
      applied.push({ hashes: changes.map((c) => c.hash).join('+'), start, end: performance.now() })
    },
    batchMs,
    hurry: () => {},
    log: silentLog,
  })
  return { batch, applied }
}

const microtasks = async (n = 10): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve()
}

test('after a cheap apply, the next change is applied as soon as it comes, not batchMs later (a burst of runs, each a few ms apart)', async () => {
  const { batch, applied } = timedBatch(1000, 0)
  await batch.ingest('ws', 'd', [change('a', 100)])
  await new Promise((r) => setTimeout(r, 20))
  // Well within batchMs of the last apply, but later than that apply took: no timer, only the microtask.
  void batch.ingest('ws', 'd', [change('b', 100)])
  await microtasks()
  assert.deepEqual(
    applied.map((a) => a.hashes),
    ['a', 'b'],
    'b applied within the same turn it came in (it used to wait batchMs, 1 s here, from its arrival)',
  )
  await batch.settle()
})

test('right after a costly apply, what comes waits until as long again has passed since it ended, and goes together', async () => {
  const { batch, applied } = timedBatch(1000, 30)
  void batch.ingest('ws', 'd', [change('a', 100)])
  await microtasks()
  assert.deepEqual(
    applied.map((a) => a.hashes),
    ['a'],
  )
  void batch.ingest('ws', 'd', [change('b', 100)])
  void batch.ingest('ws', 'd', [change('c', 100)])
  await microtasks()
  assert.equal(applied.length, 1, 'b and c wait: the last apply just ended')
  // (Not `settle`: it hands over what is buffered at once.)
  await new Promise((r) => setTimeout(r, 80))
  assert.deepEqual(
    applied.map((a) => a.hashes),
    ['a', 'b+c'],
  )
  const [a, bc] = applied as [(typeof applied)[0], (typeof applied)[0]]
  // Timers may fire up to a millisecond early (they are kept in whole milliseconds).
  assert.ok(bc.start - a.end >= 28, `b+c began ${(bc.start - a.end).toFixed(1)} ms after a 30 ms apply ended`)
  await batch.settle()
})
