/**
 * The replica against a real peer (in-process, SQLite in a temp folder, libp2p on 127.0.0.1):
 * the peer accepts the replica's changes (actor, signature, storage) and another window's replica
 * of the same document receives them as `doc.changes` events.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { startPeer, tempDir, waitFor } from '../../../main/peer/test/helpers.ts'
import { DocReplica, type Scheduler } from './replica.ts'
import { fromCursors, toCursors } from './cursors.ts'

const soon: Scheduler = (fn) => void setTimeout(fn, 16)

/** A peer on a temp profile, two clients of it, and a document "Plan" holding "Hello". */
async function peerWithDoc() {
  const dir = tempDir()
  const peer = await startPeer(dir.path, { name: 'Ana' })
  const one = peer.connect()
  const two = peer.connect()
  const ws = await one.request('workspace.create', { name: 'Studio' })
  const doc = await one.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'Hello' })
  return { dir, peer, one, two, doc }
}

test('two windows on one peer: edits travel through the peer, cursors resolve on both sides', async () => {
  const { dir, peer, one, two, doc } = await peerWithDoc()
  try {
    const a = await DocReplica.open(one, doc.id, soon)
    const b = await DocReplica.open(two, doc.id, soon)
    assert.equal(b.text(), 'Hello')

    for (const ch of ' world') a.change((d) => A.splice(d, ['text'], a.text().length, 0, ch))
    await a.flushNow()
    assert.equal((await one.request('doc.read', { docId: doc.id })).text, 'Hello world', 'durable at the peer')
    await waitFor('the other window to get the edit', () => b.text() === 'Hello world', 5000)

    // A selection made in one window lands on the same characters in the other, even after an
    // edit before it.
    const sel = toCursors(a.doc(), { anchor: 6, head: 11 })!
    b.change((d) => A.splice(d, ['text'], 0, 0, '>> '))
    await b.flushNow()
    await waitFor('the first window to get the edit', () => a.text() === '>> Hello world', 5000)
    const there = fromCursors(b.doc(), sel)!
    assert.equal(b.text().slice(there.anchor, there.head), 'world')

    await a.close()
    await b.close()
    one.close()
    two.close()
  } finally {
    await peer.stop()
    dir.remove()
  }
})

test('a change the peer took but that does not apply: the window that shows it reopens without it, and nothing else is lost', async () => {
  // A teammate's keystroke is shown to windows before the peer applies it (main/peer/sync/documents.ts),
  // so a change that decodes but names an element nobody made (sync/quarantine.ts) reaches a window
  // first. The window must refuse it without losing its own edits, and open again as the peer has it.
  const { dir, peer, one, two, doc } = await peerWithDoc()
  try {
    const b = await DocReplica.open(two, doc.id, soon)
    let rejected: Error | null = null
    b.listen('rejected', (err) => {
      rejected = err
    })

    // The other client makes a keystroke on its own copy, then points its insertion at an element nobody made.
    const opened = await one.request('doc.open', { docId: doc.id })
    const base = A.load<{ text: string }>(opened.bytes, { actor: opened.actor })
    const made = A.getLastLocalChange(A.change(base, (d) => A.splice(d, ['text'], 5, 0, '!')))!
    const decoded = A.decodeChange(made)
    ;(decoded.ops[0] as unknown as { elemId: string }).elemId = `99@${'ab'.repeat(16)}`
    const bad = A.encodeChange(decoded)
    // The peer takes it: it defers applying a keystroke, and checking one without applying it cannot tell.
    // (Should it ever refuse such a change, no window would be shown it, and this test has no premise.)
    await one.request('doc.applyChanges', { docId: doc.id, changes: [bad] })

    await waitFor('the window to refuse the change', () => rejected, 5000)
    assert.match(String(rejected), /could not apply/)
    assert.equal(b.text(), 'Hello', 'the window still shows the text as it was')
    // A key typed before the window opens again is kept.
    b.change((d) => A.splice(d, ['text'], 5, 0, ','))

    // Opened again (as DocView does on "rejected"): the peer's copy leaves the change out.
    await b.close()
    const c = await DocReplica.open(two, doc.id, soon)
    assert.equal(c.text(), 'Hello,')
    c.change((d) => A.splice(d, ['text'], 6, 0, ' world'))
    await c.flushNow()
    assert.equal((await two.request('doc.read', { docId: doc.id })).text, 'Hello, world', 'an edit after it is taken and kept')
    await c.close()
    one.close()
    two.close()
    await peer.stop()
    const again = await startPeer(dir.path, { name: 'Ana' })
    try {
      const three = again.connect()
      assert.equal((await three.request('doc.read', { docId: doc.id })).text, 'Hello, world', 'and after a restart')
      three.close()
    } finally {
      await again.stop()
    }
  } finally {
    await peer.stop().catch(() => {})
    dir.remove()
  }
})
