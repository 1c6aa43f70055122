/**
 * The editor worker's session when it drops on its own, the window's connection being fine: a real
 * peer (SQLite in a temp folder) behind browser mode's real WebSocket server, or a real MessagePort,
 * and the worker's host with a window (../test/window.ts) that reopens as DocView does.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { MessageChannel } from 'node:worker_threads'
import WebSocket from 'ws'
import type { PeerClient } from '../../../shared/protocol.ts'
import { portChannel } from '../../../shared/port-channel.ts'
import { serveRpc, type FrameChannel } from '../../../shared/rpc.ts'
import { webSocketChannel } from '../../../shared/websocket-channel.ts'
import { startUiServer, type UiServer } from '../../../main/peer/api/ui-server.ts'
import { startPeer, tempDir, tempSite, testLog, waitFor } from '../../../main/peer/test/helpers.ts'
import { testWindow } from '../test/window.ts'
import { WorkerSession } from './worker-session.ts'

const profile = tempDir()
const site = tempSite()
let peer: Awaited<ReturnType<typeof startPeer>>
let ui: UiServer
let main: PeerClient
let docId: string

before(async () => {
  peer = await startPeer(profile.path, { name: 'Ana' })
  ui = await startUiServer(peer, testLog, { dir: site.path })
  main = peer.connect()
  const ws = await main.request('workspace.create', { name: 'Studio' })
  docId = (await main.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'Hello world' })).id
})

after(async () => {
  await ui.close()
  await peer.stop()
  profile.remove()
  site.remove()
})

const peerText = async (): Promise<string> => (await main.request('doc.read', { docId })).text

/**
 * A worker's session whose WebSockets (kept in `sockets`, to be dropped) go to the UI server as a page's would;
 * the first `failFirst` dials fail before they reach it.
 */
function browserWorker(failFirst = 0) {
  let failures = failFirst
  const win = testWindow()
  const sockets: WebSocket[] = []
  const waits: number[] = []
  const warnings: string[] = []
  const origin = `http://127.0.0.1:${ui.port}`
  const session = new WorkerSession(win.host, {
    openWebSocket: (url) =>
      new Promise<FrameChannel>((resolve, reject) => {
        if (failures-- > 0) return reject(new Error('The peer did not accept the connection.'))
        const ws = new WebSocket(url, { origin })
        ws.once('error', reject)
        ws.once('open', () => {
          sockets.push(ws)
          resolve(webSocketChannel(ws))
        })
      }),
    portChannel: () => {
      throw new Error('browser mode has no ports')
    },
    portLost: () => assert.fail('a WebSocket is dialled again, not handed anew'),
    later: (fn, ms) => {
      waits.push(ms)
      setTimeout(fn, ms)
    },
    warn: (message) => warnings.push(message),
  })
  const url = `ws://127.0.0.1:${ui.port}/rpc?token=${ui.token}`
  /** Closes the document, stops the session and puts the text back for the next test. */
  const done = async (): Promise<void> => {
    await win.close()
    session.stop()
    await main.request('doc.setText', { docId, text: 'Hello world' })
  }
  return { win, session, sockets, waits, warnings, url, done }
}

test("a worker whose own WebSocket drops dials again: what was typed meanwhile reaches the peer, and teammates' edits the window", async () => {
  const { win, session, sockets, waits, warnings, url, done } = browserWorker()
  await session.connect({ url })
  await win.open(docId)
  win.type({ from: 11, insert: ' there' })
  await waitFor('the first edit at the peer', async () => (await peerText()) === 'Hello world there', 5000)

  const closed = new Promise<number>((resolve) => sockets[0]!.once('close', (code: number) => resolve(code)))
  // A text frame: the peer closes this connection (and only this one), as it would on any bad frame.
  sockets[0]!.send('not a binary frame')
  // Typed while the session goes down: before the worker hears of it.
  win.type({ from: 17, insert: '!' })
  assert.equal(await closed, 1003, "the peer closed the worker's connection")

  await waitFor('the window to have the document open again', () => win.w.rid === 2 && win.w.opened, 10_000)
  assert.ok(
    win.w.got.some((m) => m.t === 'reopen' && m.rid === 1),
    'the window was told to open the document again',
  )
  assert.equal(sockets.length, 2, 'the worker dialled once more')
  assert.deepEqual(waits, [500], 'after half a second')
  assert.deepEqual(warnings, ["the editor worker's connection to the peer closed: dialling it again"])
  await waitFor('the key typed during the drop at the peer', async () => (await peerText()) === 'Hello world there!', 5000)
  assert.equal(win.w.doc.toString(), 'Hello world there!', 'the reopened window shows it too')

  await main.request('doc.setText', { docId, text: 'Hello world there! Hi' })
  await waitFor("a teammate's edit in the window, on the new session", () => win.w.doc.toString() === 'Hello world there! Hi', 5000)
  win.type({ from: 0, insert: '> ' })
  await waitFor('a new edit at the peer', async () => (await peerText()) === '> Hello world there! Hi', 5000)
  await done()
})

test('a worker whose first WebSocket fails dials again, and the document opens on the session that follows', async () => {
  const { win, session, sockets, waits, warnings, url, done } = browserWorker(2)
  await session.connect({ url })
  await win.open(docId, 10_000)
  assert.equal(win.w.doc.toString(), 'Hello world')
  assert.equal(sockets.length, 1, 'the third dial opened')
  assert.deepEqual(waits, [500, 1000], 'after half a second, then a second')
  assert.deepEqual(warnings, ['the editor worker could not reach the peer: dialling it again'])
  win.type({ from: 11, insert: '?' })
  await waitFor('the edit at the peer', async () => (await peerText()) === 'Hello world?', 5000)
  await done()
})

test('a worker whose MessagePort closes keeps what is typed, says so to the window, fails opens at once until the window hands it a new port, then sends it', async () => {
  const win = testWindow()
  let portsLost = 0
  const session = new WorkerSession(win.host, {
    openWebSocket: () => Promise.reject(new Error('Electron has no WebSocket here')),
    portChannel: (port) => portChannel(port),
    later: () => assert.fail('a port is never dialled again'),
    portLost: () => void portsLost++,
    warn: () => {},
  })
  const serve = () => {
    const { port1, port2 } = new MessageChannel()
    serveRpc(portChannel(port1), peer.connect())
    return { via: { port: port2 as unknown as MessagePort }, peerSide: port1 }
  }
  const first = serve()
  await session.connect(first.via)
  await win.open(docId)
  assert.equal(win.w.doc.toString(), 'Hello world')

  const closed = new Promise<void>((resolve) => first.via.port.addEventListener('close', () => resolve()))
  first.peerSide.close()
  await closed
  // The editor stays open (a peer that restarts drops the window's connection too, and the window
  // remounts it once the peer is back): what is typed now is kept.
  win.type({ from: 0, insert: 'Well, ' })
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(win.w.rid, 1)
  assert.ok(!win.w.got.some((m) => m.t === 'reopen'), 'no reopen: there is no session to reopen on')
  assert.equal(portsLost, 1, 'the window is told once, to ask for fresh ports')
  await win.close()
  await assert.rejects(win.open(docId), /connection to the peer closed/, 'an open fails at once while there is no port')
  assert.equal(win.w.failed?.code, 'unreachable')

  // The window's new connection (as after a peer restart) hands a new port; the document opened on it sends what was kept.
  const second = serve()
  await session.connect(second.via)
  await win.open(docId)
  assert.equal(win.w.doc.toString(), 'Well, Hello world')
  await waitFor('the kept edit at the peer', async () => (await peerText()) === 'Well, Hello world', 5000)
  await win.close()
  session.stop()
  assert.equal(portsLost, 1, 'a session the window replaced or the worker stopped is no port lost')
})
