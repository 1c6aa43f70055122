/** Ports to the peer: handed to loaded windows, renewed after a restart; main's own client over one. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRpcClient, serveRpc } from '../shared/rpc.ts'
import type { ClientEvent, PeerClient } from '../shared/protocol.ts'
import { PortBroker, type PortWindow } from './peer-ports.ts'
import { portChannel } from './port-channel.ts'
import { FakePort } from './electron/fake-ports.ts'

function brokerHarness(peerUp: { value: boolean }) {
  const toPeer: FakePort[] = []
  const broker = new PortBroker<FakePort>({
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
  return { broker, toPeer, win }
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
