/** Ports to the peer: handed to loaded windows, renewed after a restart; main's own client over one. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRpcClient, serveRpc } from '../shared/rpc.ts'
import type { ClientEvent, PeerClient } from '../shared/protocol.ts'
import { PortBroker, REHELLO_MS, type PortWindow } from './peer-ports.ts'
import { portChannel } from './port-channel.ts'
import { FakePort } from './electron/fake-ports.ts'

function brokerHarness(peerUp: { value: boolean }) {
  const toPeer: FakePort[] = []
  // A clock the test moves (`advance`), and the timers it runs when it does.
  const clock = { now: 0, timers: [] as { at: number; fn: () => void; cancelled: boolean }[] }
  const advance = (ms: number): void => {
    clock.now += ms
    for (const t of clock.timers.filter((t) => !t.cancelled && t.at <= clock.now)) {
      t.cancelled = true
      t.fn()
    }
  }
  const broker = new PortBroker<FakePort>({
    now: () => clock.now,
    later: (fn, ms) => {
      const t = { at: clock.now + ms, fn, cancelled: false }
      clock.timers.push(t)
      return () => {
        t.cancelled = true
      }
    },
    newChannel: () => {
      const [peerSide, pageSide] = FakePort.pair()
      return { peerSide, pageSide }
    },
    connectPeer: (port) => {
      if (!peerUp.value) return false
      toPeer.push(port)
      return true
    },
    close: (port) => port.close(),
  })
  const win = (id: number): PortWindow<FakePort> & { ports: FakePort[]; editorPorts: FakePort[]; destroyed: boolean } => {
    const w = {
      id,
      ports: [] as FakePort[],
      destroyed: false,
      isDestroyed: () => w.destroyed,
      editorPorts: [] as FakePort[],
      sendPorts: (p: FakePort, editor: FakePort) => {
        w.ports.push(p)
        w.editorPorts.push(editor)
      },
    }
    return w
  }
  return { broker, toPeer, win, advance }
}

test('a window that loads before the peer is ready gets its port when the peer is', () => {
  const up = { value: false }
  const { broker, toPeer, win } = brokerHarness(up)
  const a = win(1)
  broker.hello(a)
  assert.equal(a.ports.length, 0)
  up.value = true
  broker.peerReady()
  assert.equal(a.ports.length, 1)
  assert.equal(toPeer.length, 2, 'a session for the page and one for its editor worker')
  assert.equal(a.ports[0]!.other, toPeer[0], 'the two ends of one channel')
  assert.equal(a.editorPorts[0]!.other, toPeer[1], 'and of the other')
})

test('after a peer restart every loaded window gets a fresh port; closed or reloading ones do not', () => {
  const up = { value: true }
  const { broker, win } = brokerHarness(up)
  const [a, b, c] = [win(1), win(2), win(3)]
  broker.hello(a)
  broker.hello(b)
  broker.hello(c)
  broker.forget(2) // b is loading another page; it will say hello again
  c.destroyed = true
  broker.peerReady()
  assert.deepEqual([a.ports.length, b.ports.length, c.ports.length], [2, 1, 1])
  assert.deepEqual(
    broker.loadedWindows().map((w) => w.id),
    [1],
  )
  assert.notEqual(a.ports[0], a.ports[1])
})

test('a page that asks again (its port closed alone) gets fresh ports, at most once per REHELLO_MS; a restart or a reload is not held back', () => {
  const up = { value: true }
  const { broker, toPeer, win, advance } = brokerHarness(up)
  const a = win(1)
  broker.hello(a)
  assert.equal(a.ports.length, 1)
  // Asked again at once: answered when REHELLO_MS has passed since the last ports, and only once.
  advance(500)
  broker.hello(a)
  broker.hello(a)
  assert.equal(a.ports.length, 1, 'not before REHELLO_MS')
  advance(REHELLO_MS - 600)
  assert.equal(a.ports.length, 1)
  advance(100)
  assert.equal(a.ports.length, 2, 'then fresh ports')
  assert.equal(a.editorPorts.length, 2, 'the editor worker’s too')
  assert.equal(toPeer.length, 4, 'two new sessions at the peer')
  // A page that asks in a loop gets ports once per REHELLO_MS, not once per asking.
  for (let i = 0; i < 50; i++) {
    broker.hello(a)
    advance(100)
  }
  assert.equal(a.ports.length, 4, `5 s of asking every 100 ms: ${a.ports.length - 2} more`)
  // A peer restart hands ports at once and drops a hello waiting; a reloaded page (forget, hello) is not held back.
  broker.hello(a)
  broker.peerReady()
  assert.equal(a.ports.length, 5)
  advance(REHELLO_MS)
  assert.equal(a.ports.length, 5, 'the waiting hello was answered by the restart')
  broker.hello(a)
  assert.equal(a.ports.length, 6, 'asked again REHELLO_MS after the last ports: at once')
  broker.hello(a)
  broker.forget(1)
  broker.hello(a)
  assert.equal(a.ports.length, 7, 'a page that loaded again gets ports at once')
  advance(REHELLO_MS)
  assert.equal(a.ports.length, 7, 'and the hello of the page before it is not answered')
})

test('no port is handed out while the peer is down, and the unused ends are closed', () => {
  const { broker } = brokerHarness({ value: false })
  assert.equal(broker.openLocal(), null)
})

test("main's own client speaks the client protocol over a MessagePortMain", async () => {
  const [mainSide, peerSide] = FakePort.pair()
  const events = new Set<(e: ClientEvent) => void>()
  let closed = false
  const session: PeerClient & { close(): void } = {
    request: (async (method: string, params: unknown) => {
      if (method === 'workspace.list') return [{ id: 'ws1' }]
      throw new Error(`unexpected ${method} ${JSON.stringify(params)}`)
    }) as PeerClient['request'],
    onEvent: (l) => {
      events.add(l)
      return () => events.delete(l)
    },
    close: () => {
      closed = true
    },
  }
  const peerChannel = portChannel(peerSide)
  serveRpc(peerChannel, session)
  const client = createRpcClient(portChannel(mainSide))
  const seen: ClientEvent[] = []
  const arrived = new Promise<void>((resolve) =>
    client.onEvent((e) => {
      seen.push(e)
      resolve()
    }),
  )
  assert.deepEqual(await client.request('workspace.list', {}), [{ id: 'ws1' }])
  await assert.rejects(client.request('doc.list', { workspaceId: 'x' }), /unexpected doc.list/)
  for (const l of events) l({ type: 'workspace.list' })
  await Promise.race([
    arrived,
    new Promise((_, reject) => setTimeout(() => reject(new Error('the event did not arrive in 5 s')), 5000).unref()),
  ])
  assert.deepEqual(seen, [{ type: 'workspace.list' }])
  // A message that is not a binary frame never reaches the protocol (it would fail the request).
  const answered = client.request('workspace.list', {})
  peerSide.postMessage('not a frame')
  assert.deepEqual(await answered, [{ id: 'ws1' }])
  // The peer going away fails pending requests instead of leaving them hanging.
  const pending = client.request('workspace.list', {})
  peerChannel.close()
  await assert.rejects(pending, /closed/)
  assert.ok(closed)
})
