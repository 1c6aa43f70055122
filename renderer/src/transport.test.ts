import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocketServer, type WebSocket as PeerSocket } from 'ws'
import { runFrameChannelTests } from '../../shared/frame-channel-contract.ts'
import { asFrame, chooseTransport, portChannel, webSocketChannel } from './transport.ts'
import { parseShellMessage } from './shell-messages.ts'

// The page's two transports keep the FrameChannel contract: a real MessageChannel, and the global
// (WHATWG) WebSocket, as in a browser, talking to a real `ws` server, as the peer's is.
runFrameChannelTests(
  'page portChannel over a MessageChannel',
  async () => {
    const { port1, port2 } = new MessageChannel()
    return { near: portChannel(port1), far: portChannel(port2), breakFar: () => port2.close() }
  },
  test,
)

runFrameChannelTests(
  'page webSocketChannel (global WebSocket) to a ws server',
  async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    const accepted = new Promise<PeerSocket>((resolve) => server.once('connection', resolve))
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`)
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true })
      ws.addEventListener('error', reject, { once: true })
    })
    const peerSide = await accepted
    return {
      near: webSocketChannel(ws),
      far: webSocketChannel(peerSide),
      breakFar: () => peerSide.terminate(),
      teardown: () =>
        new Promise<void>((resolve) => {
          for (const c of server.clients) c.terminate()
          server.close(() => resolve())
        }),
    }
  },
  test,
)

test('browser mode when the page has a token and came over http; Electron otherwise', () => {
  assert.deepEqual(chooseTransport({ protocol: 'http:', host: '127.0.0.1:4321', search: '?token=abc_-9' }), {
    kind: 'browser',
    url: 'ws://127.0.0.1:4321/rpc?token=abc_-9',
  })
  assert.deepEqual(chooseTransport({ protocol: 'https:', host: 'h:1', search: '?x=1&token=a%2Bb' }), {
    kind: 'browser',
    url: 'wss://h:1/rpc?token=a%2Bb',
  })
  assert.deepEqual(chooseTransport({ protocol: 'file:', host: '', search: '?token=abc' }), { kind: 'electron' })
  assert.deepEqual(chooseTransport({ protocol: 'http:', host: 'h', search: '' }), { kind: 'electron' })
  assert.deepEqual(chooseTransport({ protocol: 'app:', host: 'grapevine', search: '' }), { kind: 'electron' })
})

test('only binary data is a frame; the page drops anything else and stays connected', async () => {
  const bytes = new Uint8Array([1, 2])
  assert.equal(asFrame(bytes), bytes)
  assert.deepEqual(asFrame(new Uint8Array([3]).buffer), new Uint8Array([3]))
  for (const v of ['text', 42, null, undefined, { 0: 1 }, [1, 2]]) assert.equal(asFrame(v), null)
  const { port1, port2 } = new MessageChannel()
  const channel = portChannel(port1)
  const got: Uint8Array[] = []
  channel.onFrame((f) => got.push(f))
  port2.postMessage('text')
  port2.postMessage(new Uint8Array([7]))
  await new Promise<void>((resolve) => channel.onFrame(() => resolve()))
  assert.deepEqual(got, [new Uint8Array([7])])
  channel.close()
})

test('shell messages: the valid ones are parsed, everything else is ignored', () => {
  assert.deepEqual(parseShellMessage({ grapevine: 'menu', value: 'new-document' }), { kind: 'menu', command: 'new-document' })
  assert.deepEqual(parseShellMessage({ grapevine: 'menu', value: 'command-palette' }), { kind: 'menu', command: 'command-palette' })
  assert.deepEqual(parseShellMessage({ grapevine: 'peer-status', value: 'restarting' }), { kind: 'peer-status', status: 'restarting' })
  assert.deepEqual(parseShellMessage({ grapevine: 'peer-status', value: 'ready' }), { kind: 'peer-status', status: 'ready' })
  assert.deepEqual(parseShellMessage({ grapevine: 'peer-status', value: 'failed' }), { kind: 'peer-status', status: 'failed' })
  assert.deepEqual(parseShellMessage({ grapevine: 'open-document', value: 'doc_1-A' }), { kind: 'open-document', docId: 'doc_1-A' })
  assert.deepEqual(parseShellMessage({ grapevine: 'open-invite', value: ' grapevine://join/GV1.abc-_ ' }), {
    kind: 'open-invite',
    link: 'grapevine://join/GV1.abc-_',
  })
  const bad: unknown[] = [
    null,
    'grapevine:port',
    'grapevine:ready',
    [],
    {},
    { grapevine: 'menu' },
    { grapevine: 'menu', value: 'rm -rf' },
    { grapevine: 'menu', value: 7 },
    { grapevine: 'peer-status', value: 'crashed' },
    { grapevine: 'unknown', value: 'x' },
    { grapevine: 'open-invite', value: 'https://evil.example/join/GV1.x' },
    { grapevine: 'open-invite', value: 'grapevine://join/a b' },
    { grapevine: 'open-invite', value: 'javascript:alert(1)' },
    { grapevine: 'open-document', value: '../x' },
    { grapevine: 'open-invite', value: `grapevine://join/${'a'.repeat(5000)}` },
  ]
  for (const m of bad) assert.equal(parseShellMessage(m), null, JSON.stringify(m)?.slice(0, 80))
})
