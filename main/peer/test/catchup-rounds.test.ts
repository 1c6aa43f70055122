/**
 * The periodic catch-up between three real peers (sync/catchup-rounds.ts): each pair of teammates
 * gets about one session per interval, not one from each side, and what a teammate missed still
 * arrives by it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'

const INTERVAL_MS = 1_000
const dirs: Dir[] = [tempDir(), tempDir(), tempDir()]
let peers: Peer[] = []

before(async () => {
  for (const d of dirs) peers.push(await startPeer(d.path, { catchupIntervalMs: INTERVAL_MS }))
  await formWorkspace(peers[0]!, peers.slice(1))
})
after(async () => {
  await stopAll(peers, dirs)
  peers = []
})

test('each pair of teammates gets about one periodic session per interval, spread, not one from each side', async () => {
  // Past the sessions of joining and connecting.
  await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS))
  const answered = (): number => peers.reduce((n, p) => n + p.stats().catchup.sessions, 0)
  const before = answered()
  const windowMs = 6 * INTERVAL_MS
  await new Promise((r) => setTimeout(r, windowMs))
  const sessions = answered() - before
  // 3 pairs, 6 intervals: 18 if each pair gets one per interval. Both sides dialling every teammate at
  // every tick, as before, made 2 per pair per interval (36).
  const pairs = 3
  const rounds = windowMs / INTERVAL_MS
  console.log(`periodic sessions in ${windowMs} ms among 3 peers: ${sessions} (one per pair and interval: ${pairs * rounds})`)
  assert.ok(sessions >= pairs * (rounds - 2), `at least about one session per pair and interval: ${sessions}`)
  assert.ok(sessions <= pairs * (rounds + 1), `at most about one session per pair and interval: ${sessions}`)
})
