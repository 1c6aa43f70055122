/**
 * The periodic catch-up's rounds (catchup-rounds.ts), with the session stood in for by a recorder: one
 * session per pair and round, spread over the interval, none for a pair no longer connected, and
 * each told to skip a pair synced (either side) within the last interval. Real peers:
 * main/peer/test/catchup-rounds.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CatchupRounds } from './catchup-rounds.ts'

/** Polls until `done`, for at most 5 s (the rounds here take well under one). */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 5_000; !done(); ) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('a round starts one session per pair, spread over the interval, each skipping a pair synced within most of it', async () => {
  const interval = 400
  const connected = new Set(['p1', 'p2', 'p3'])
  const pairs = [
    { peer: 'p1', key: 'p1', ws: 'w1' },
    { peer: 'p1', key: 'p1', ws: 'w2' },
    { peer: 'p2', key: 'p2', ws: 'w1' },
    { peer: 'p3', key: 'p3', ws: 'w1' },
    { peer: 'p3', key: 'p3', ws: 'w1' }, // a teammate connected twice: one session
  ]
  const started: { pair: string; at: number; since: number }[] = []
  const t0 = Date.now()
  const rounds = new CatchupRounds<string>({
    pairs: () => pairs,
    connected: (key) => connected.has(key),
    sync: async (peer, ws, since) => {
      started.push({ pair: `${peer}/${ws}`, at: Date.now() - t0, since })
      if (peer === 'p2') throw new Error('a failed session does not stop the rounds')
    },
    intervalMs: interval,
    random: () => 0,
  })
  rounds.start()
  try {
    // The first round starts one interval in; its 4 sessions are a quarter interval apart.
    await until(() => started.length >= 4)
    assert.deepEqual(
      started.map((s) => s.pair),
      ['p1/w1', 'p1/w2', 'p2/w1', 'p3/w1'],
    )
    for (const [i, s] of started.entries()) {
      assert.ok(s.at >= interval + i * (interval / 4) - 5, `session ${i} at ${s.at} ms: not before its step`)
      // Each skips a pair whose last session ended within 0.9 interval before it started.
      assert.ok(Math.abs(t0 + s.at - 0.9 * interval - s.since) < 30, `session ${i}: unless synced since ${s.since - t0} ms`)
    }
    const gaps = started.slice(1).map((s, i) => s.at - started[i]!.at)
    assert.ok(
      gaps.every((g) => g >= interval / 4 - 15),
      `sessions spread, not together: gaps ${gaps.join(', ')} ms`,
    )
    // The next round: p2 is gone, so it gets no session (nothing dials it).
    connected.delete('p2')
    await until(() => started.length >= 7)
    await new Promise((r) => setTimeout(r, interval / 8))
    assert.deepEqual(
      started.slice(4).map((s) => s.pair),
      ['p1/w1', 'p1/w2', 'p3/w1'],
    )
  } finally {
    rounds.stop()
  }
  const count = started.length
  await new Promise((r) => setTimeout(r, interval))
  assert.equal(started.length, count, 'nothing starts after stop')
})
