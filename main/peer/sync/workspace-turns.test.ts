/**
 * Turns of catch-up sessions within a workspace (workspace-turns.ts): in the order taken, each waiting
 * for the one before to end or to stall; other workspaces never wait.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { WorkspaceTurns } from './workspace-turns.ts'

it('sessions of a workspace go one after another, in the order they came; another workspace does not wait', async () => {
  const turns = new WorkspaceTurns(10_000, 60_000)
  const order: string[] = []
  const first = await turns.take('w1')
  assert.equal(first.waited, false)
  const second = turns.take('w1').then((t) => {
    order.push('second')
    return t
  })
  const third = turns.take('w1').then((t) => {
    order.push('third')
    return t
  })
  const other = await turns.take('w2')
  assert.equal(other.waited, false, 'another workspace goes at once')
  await sleep(20)
  assert.deepEqual(order, [], 'both wait while the first runs')
  first.end()
  const t2 = await second
  assert.equal(t2.waited, true)
  await sleep(20)
  assert.deepEqual(order, ['second'], 'the third waits for the second')
  t2.end()
  const t3 = await third
  assert.deepEqual(order, ['second', 'third'])
  t3.end()
  other.end()
  const later = await turns.take('w1')
  assert.equal(later.waited, false, 'after every turn ended, the next goes at once')
  later.end()
})

it('a session that moves no frame for the stall time passes its turn on; one that moves frames keeps it', async () => {
  const turns = new WorkspaceTurns(60, 60_000)
  const busy = await turns.take('w')
  let next = false
  const waiting = turns.take('w').then((t) => {
    next = true
    return t
  })
  // Frames every 20 ms for 200 ms: it keeps its turn.
  for (let i = 0; i < 10; i++) {
    await sleep(20)
    busy.touch()
  }
  assert.equal(next, false, 'a session that moves frames keeps its turn')
  const started = performance.now()
  const t = await waiting
  const waitedMs = performance.now() - started
  assert.ok(waitedMs >= 30 && waitedMs < 1_000, `the turn passed once frames stopped (after ${waitedMs.toFixed(0)} ms)`)
  // Its end later changes nothing for the one that went on; a third waits for the second only.
  busy.end()
  let third = false
  const after = turns.take('w').then((x) => {
    third = true
    return x
  })
  await sleep(20)
  assert.equal(third, false)
  t.end()
  ;(await after).end()
})

it('a session waits at most the longest wait, even behind one that keeps moving frames', { timeout: 5_000 }, async () => {
  const turns = new WorkspaceTurns(60, 150)
  const slow = await turns.take('w')
  const frames = setInterval(() => slow.touch(), 20)
  try {
    const started = performance.now()
    const next = await turns.take('w')
    const waitedMs = performance.now() - started
    assert.ok(next.waited && waitedMs >= 140 && waitedMs < 1_000, `it went after ${waitedMs.toFixed(0)} ms`)
    next.end()
  } finally {
    clearInterval(frames)
    slow.end()
  }
})
