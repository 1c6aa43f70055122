/**
 * The editor's worker (its host, without the Worker around it) against a real peer (in-process, SQLite
 * in a temp folder): windows typing at once through their own worker sessions converge with the peer;
 * cursors cross; the worker's session hears only its documents' events. The window's side here is its
 * text and its half of text-sync, as EditorReplica keeps them, without a DOM.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import { seededRandom } from '../../../main/peer/test/random.ts'
import { startPeer, tempDir, waitFor } from '../../../main/peer/test/helpers.ts'
import { testWindow } from '../test/window.ts'

/** A window and its worker (../test/window.ts) on the session `client`. */
function windowWithWorker(client: PeerClient) {
  const win = testWindow()
  win.host.connect(client)
  return win
}

/** Runs `fn` with a peer on a temp profile, a window's session `main`, and a document "Plan" holding "Hello world"; stops and removes them after. */
async function withDoc(
  fn: (t: { peer: Awaited<ReturnType<typeof startPeer>>; main: PeerClient; ws: { id: string }; doc: { id: string } }) => Promise<void>,
): Promise<void> {
  const dir = tempDir()
  const peer = await startPeer(dir.path, { name: 'Ana' })
  try {
    const main = peer.connect()
    const ws = await main.request('workspace.create', { name: 'Studio' })
    const doc = await main.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'Hello world' })
    await fn({ peer, main, ws, doc })
  } finally {
    await peer.stop()
    dir.remove()
  }
}

test('two windows typing at once through their workers: both show the peer’s text, a title change reaches both (seeded)', async () => {
  const rnd = seededRandom('editor worker')
  await withDoc(async ({ peer, main, doc }) => {
    const a = windowWithWorker(peer.connect())
    const b = windowWithWorker(peer.connect())
    await a.open(doc.id)
    await b.open(doc.id)
    assert.equal(a.w.doc.toString(), 'Hello world')
    for (let i = 0; i < 120; i++) {
      const who = rnd.pick([a, b])
      const len = who.w.doc.length
      const at = rnd.int(len + 1)
      if (rnd.int(4) === 0 && len > 0) who.type({ from: Math.min(at, len - 1), to: Math.min(len, at + 1 + rnd.int(3)) })
      else who.type({ from: at, insert: rnd.pick(['x', 'yz', '\n', ' ', 'é', '\r\n']) })
      if (rnd.int(3) === 0) await new Promise((r) => setTimeout(r, rnd.int(12)))
    }
    await main.request('doc.rename', { docId: doc.id, title: 'Plan B' })
    const peerText = async () => (await main.request('doc.read', { docId: doc.id })).text
    await waitFor(
      'both windows and the peer to agree',
      async () => a.w.doc.toString() === b.w.doc.toString() && a.w.doc.toString() === (await peerText()),
      10_000,
    )
    await waitFor('the new title in both windows', () => a.w.title === 'Plan B' && b.w.title === 'Plan B', 5000)
    assert.ok(a.w.got.some((m) => m.t === 'remote'))
    assert.ok(
      b.w.got.some((m) => m.t === 'sync'),
      'the document’s sync status changes are passed on to the window',
    )
    await a.close()
    await b.close()
  })
})

test('a selection in one window is shown on the same characters in the other, across edits in flight', async () => {
  await withDoc(async ({ peer, doc }) => {
    const a = windowWithWorker(peer.connect())
    const b = windowWithWorker(peer.connect())
    await a.open(doc.id)
    await b.open(doc.id)
    a.select(6, 11)
    const cursor = await waitFor('the cursor', () => a.w.cursor, 5000)
    b.type({ from: 0, insert: '>> ' })
    b.teammates([{ deviceId: 'a', cursor }])
    // b's edit is still on its way to its worker when the worker places the cursor: mapped on arrival.
    const placed = await waitFor('the teammate placed', () => b.w.placed?.[0], 5000)
    assert.equal(b.w.doc.sliceString(placed.anchor, placed.head), 'world')
    await waitFor('the edit to reach the other window', () => a.w.doc.toString() === '>> Hello world', 5000)
    // A teammate's edit comes with the selections placed after it, in one message (one editor update).
    a.type({ from: 0, insert: '#' })
    const both = await waitFor('the edit with the selections after it', () => b.w.got.find((m) => m.t === 'remote' && m.edit), 5000)
    assert.ok(both.t === 'remote' && both.teammates?.placed.length === 1, JSON.stringify(both))
    await waitFor('the edit in the other window', () => b.w.doc.toString() === '#>> Hello world', 5000)
    assert.equal(b.w.doc.sliceString(b.w.placed![0]!.anchor, b.w.placed![0]!.head), 'world')
    await a.close()
    await b.close()
  })
})

test('a session that asks for its documents’ events only is not told the window-wide ones', async () => {
  await withDoc(async ({ peer, main, ws, doc }) => {
    const worker = peer.connect()
    await worker.request('session.configure', { events: 'open-docs' })
    await worker.request('doc.open', { docId: doc.id })
    const heard: ClientEvent['type'][] = []
    worker.onEvent((e) => heard.push(e.type))
    const mainHeard: ClientEvent['type'][] = []
    main.onEvent((e) => mainHeard.push(e.type))
    await main.request('doc.create', { workspaceId: ws.id, title: 'Other' })
    await main.request('doc.setText', { docId: doc.id, text: 'Hello there' })
    await waitFor('the window to hear of the listing', () => mainHeard.includes('doc.list'), 5000)
    await waitFor('the worker to hear of its document', () => heard.includes('doc.changes') && heard.includes('doc.sync'), 5000)
    assert.ok(!heard.includes('doc.list'), `the worker's session heard: ${heard.join(', ')}`)
  })
})
