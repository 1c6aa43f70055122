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

test('two windows on one peer: edits travel through the peer, cursors resolve on both sides', async () => {
  const dir = tempDir()
  const peer = await startPeer(dir.path, { name: 'Ana' })
  try {
    const one = peer.connect()
    const two = peer.connect()
    const ws = await one.request('workspace.create', { name: 'Studio' })
    const doc = await one.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'Hello' })
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
