/**
 * A device back after a while connects to every teammate online at once, and a catch-up session starts
 * with each. The sessions of one workspace take turns (sync/workspace-turns.ts), so the history it missed
 * crosses once, not once per teammate. Three real peers on 127.0.0.1: Bob away while Alice types with
 * Carol connected (each keystroke published alone), then Bob back with both online.
 */
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Peer } from '../peer.ts'
import { tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { awayWhileTyped } from './away-while-typed.ts'

const KEYS = 400
const dirs: Dir[] = [tempDir(), tempDir(), tempDir()]
const running: Peer[] = []
after(() => stopAll(running, dirs))

it(`a device back to two teammates online takes the ${KEYS} keystrokes it missed once, not from each`, { timeout: 120_000 }, async () => {
  const { alice, carol, typed, start, text } = await awayWhileTyped(
    dirs.map((d) => d.path),
    KEYS,
    {},
    running,
  )

  const bob = await start(1, 'Bob')
  running.push(bob)
  const b = bob
  await waitFor(
    'Bob connected to both',
    () => b.node.getConnections(alice.node.peerId).length > 0 && b.node.getConnections(carol.node.peerId).length > 0,
  )
  await waitFor('Bob caught up', async () => (await text(b)) === typed, 30_000)
  // Every session with both has ended (a sync joins or follows the ones under way).
  await bob.syncNow()
  const stats = bob.stats().catchup
  console.log(`Bob back: ${stats.changesReceived} changes received for ${KEYS} missed; ${stats.waitedTurns} session(s) waited for another`)
  assert.equal(stats.changesReceived, KEYS, 'each change missed crossed once')
  assert.ok(stats.waitedTurns >= 1, 'one session waited for the other')
})
