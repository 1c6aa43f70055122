/**
 * A device back after a while connects to every teammate online at once, and a catch-up session starts
 * with each. The sessions of one workspace take turns (sync/workspace-turns.ts), so the history it missed
 * crosses once, not once per teammate. Three real peers on 127.0.0.1: Bob away while Alice types with
 * Carol connected (each keystroke published alone), then Bob back with both online.
 */
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { openReplica } from './replica.ts'

const KEYS = 400
const dirs: Dir[] = [tempDir(), tempDir(), tempDir()]
const running: Peer[] = []
after(() => stopAll(running, dirs))

it(`a device back to two teammates online takes the ${KEYS} keystrokes it missed once, not from each`, { timeout: 120_000 }, async () => {
  // The profile's own port each time, so that Bob restarted is found where he was; no periodic catch-up meanwhile.
  const start = (i: number, name: string): Promise<Peer> => startPeer(dirs[i]!.path, { name, port: undefined, catchupIntervalMs: 600_000 })
  const alice = await start(0, 'Alice')
  let bob = await start(1, 'Bob')
  const carol = await start(2, 'Carol')
  running.push(alice, carol)
  const ws = await formWorkspace(alice, [bob, carol])
  const ac = alice.connect()
  const docId = (await ac.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start\n' })).id
  const text = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text
  const b0 = bob
  await waitFor('the document at Bob', async () => (await text(b0)) === 'start\n')
  await bob.stop()

  // Typed with Carol connected: each keystroke leaves on its own (no run), as in a session typed together.
  const replica = await openReplica(ac, docId)
  for (let i = 0; i < KEYS; i++) await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, 'abcdefghij'[i % 10]!))
  const typed = replica.text()
  replica.close()
  await waitFor('Carol holds it all', async () => (await text(carol)) === typed, 30_000)

  bob = await start(1, 'Bob')
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
