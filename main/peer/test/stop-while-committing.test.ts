/**
 * A teammate's keystrokes commit within REMOTE_COMMIT_WITHIN_MS of being shown (sync/documents.ts). A
 * peer that stops in that moment commits them as it stops, and does nothing afterwards: no heads
 * announcement or report is left to run on a closed store (one did, once, after `gossip.stop()`).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { REMOTE_COMMIT_WITHIN_MS } from '../sync/documents.ts'
import { formWorkspace, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { openReplica } from './replica.ts'
import { storedChanges } from './sim/stored.ts'

describe('stopping while a teammate’s keystrokes wait for their commit', () => {
  const dirs: Dir[] = []
  let alice: Peer | undefined
  let bob: Peer | undefined

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(tempDir())
    alice = await startPeer(dirs[0]!.path, { name: 'Alice' })
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
  })

  after(async () => {
    await stopAll([alice, bob], dirs)
  })

  it('commits them as it stops, and runs nothing on its closed store afterwards', async () => {
    const ws = await formWorkspace(alice!, [bob!])
    const ac = alice!.connect()
    const docId = (await ac.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start' })).id
    let bc = bob!.connect()
    await waitFor('the document at Bob', async () => (await bc.request('doc.read', { docId })).text === 'start')
    const replica = await openReplica(ac, docId)
    for (let round = 0; round < 3; round++) {
      // Keystrokes Bob shows at once and commits within REMOTE_COMMIT_WITHIN_MS: Bob stops before that.
      for (const ch of `+${round}`) await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, ch))
      const text = replica.text()
      const hash = A.getHeads(replica.doc)[0]!
      await waitFor('the keystrokes shown at Bob', async () => (await bc.request('doc.read', { docId })).text === text, 5_000)
      const b = bob!
      await b.stop()
      const inLog = storedChanges(b.dbPath).some((c) => c.hash === hash)
      assert.ok(inLog, `round ${round}: the last keystroke is in Bob's log after the stop`)
      // Past the heads announcement's debounce (300 ms) and the commit's window: nothing more is sent (an
      // announcement would read the closed store; an uncaught error here fails the test too).
      const published = b.stats().gossip.published
      await new Promise((r) => setTimeout(r, REMOTE_COMMIT_WITHIN_MS + 400))
      assert.equal(b.stats().gossip.published, published, `round ${round}: nothing announced after the stop`)
      bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
      bc = bob.connect()
      assert.equal((await bc.request('doc.read', { docId })).text, text, `round ${round}: Bob reopens with the text`)
      await waitFor('Bob connected again', () => bob!.node.getConnections(alice!.node.peerId).length > 0, 10_000)
    }
    replica.close()
  })
})
