/**
 * Browser mode's server: static files only from the built renderer, the WebSocket only with the
 * token, from our own origin and host; every request over it is the client protocol.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { encode } from 'cborg'
import WebSocket, { WebSocketServer } from 'ws'
import { runFrameChannelTests } from '../../../shared/frame-channel-contract.ts'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import { CLIENT_PROTOCOL_VERSION, type PeerClient } from '../../../shared/protocol.ts'
import { createRpcClient } from '../../../shared/rpc.ts'
import { WS_CLOSE, webSocketChannel } from '../../../shared/websocket-channel.ts'
import { startPeer, tempDir, tempSite, testLog } from '../test/helpers.ts'
import { startUiServer, type UiServer } from './ui-server.ts'

const profile = tempDir()
const site = tempSite()
let peer: Awaited<ReturnType<typeof startPeer>>
let ui: UiServer
let workspaceId: string
let docId: string

before(async () => {
  peer = await startPeer(profile.path, { name: 'Web' })
  ui = await startUiServer(peer, testLog, { dir: site.path })
  const local = peer.connect()
  workspaceId = (await local.request('workspace.create', { name: 'Web' })).id
  docId = (await local.request('doc.create', { workspaceId, title: 'Notes', text: 'hello' })).id
})

after(async () => {
  await ui.close()
  await peer.stop()
  profile.remove()
  site.remove()
})

function get(path: string, host = `127.0.0.1:${ui.port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ui.port, path, headers: { host } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

function connect(url: string, origin = `http://127.0.0.1:${ui.port}`): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin })
    ws.binaryType = 'nodebuffer'
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
}

const wsUrl = (token: string): string => `ws://127.0.0.1:${ui.port}/rpc?token=${token}`
const token = (): string => new URL(ui.url).searchParams.get('token')!

/** `promise`, or a clear failure after `ms` instead of a hang until the runner's timeout. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A client of the UI server as the page is: the shared WebSocket adapter, the client protocol. */
async function rpcClient(): Promise<PeerClient & { close(): void }> {
  return createRpcClient(webSocketChannel(await connect(wsUrl(token()))))
}

// The adapter the UI server uses, over the library it uses, with its options (binary frames only,
// the size cap): the FrameChannel contract. The server's own socket is tested end to end below.
runFrameChannelTests(
  'ui-server webSocketChannel over ws',
  async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_CLIENT_MESSAGE_BYTES })
    await new Promise((resolve) => server.once('listening', resolve))
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve))
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const peerSide = await accepted
    return {
      near: webSocketChannel(ws),
      far: webSocketChannel(peerSide, { nonFrames: 'close' }),
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

test('serves the app with a strict CSP, and nothing outside its folder', async () => {
  assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/)
  const index = await get('/')
  assert.equal(index.status, 200)
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/)
  assert.equal((await get('/assets/app.js')).status, 200)
  for (const bad of ['/../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../x', '/nope.js']) {
    assert.equal((await get(bad)).status, 404, bad)
  }
  assert.equal((await get('/', 'evil.example:80')).status, 421, 'another host name (DNS rebinding) is refused')
})

test('the WebSocket needs the token, our origin and our host', async () => {
  await assert.rejects(connect(wsUrl('')), /403/)
  await assert.rejects(connect(wsUrl('x'.repeat(32))), /403/)
  await assert.rejects(connect(wsUrl(token()), 'http://evil.example'), /403/)
  const client = await rpcClient()
  const me = await client.request('identity.get', {})
  assert.equal(me.deviceId, peer.device.deviceId)
  client.close()
})

test('a text frame, garbage, or an oversized frame closes that connection with its code, and nothing else', async () => {
  const snapshot = async (c: PeerClient) => ({
    list: await c.request('doc.list', { workspaceId }),
    read: await c.request('doc.read', { docId }),
  })
  const bystander = await within(5000, 'a second connection', rpcClient())
  const before = await snapshot(bystander)
  const cases: Array<[string, string | Buffer, number]> = [
    ['a text frame', 'hello', WS_CLOSE.textFrame],
    ['garbage bytes', Buffer.from([0xff, 0xfe, 0x00]), WS_CLOSE.badFrame],
    ['an oversized frame', Buffer.alloc(MAX_CLIENT_MESSAGE_BYTES + 1), 1009],
  ]
  try {
    for (const [what, bad, code] of cases) {
      const ws = await within(5000, `a connection for ${what}`, connect(wsUrl(token())))
      const closed = new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)))
      ws.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
      ws.send(bad)
      assert.equal(await within(5000, `the server to close the connection after ${what}`, closed), code, `close code after ${what}`)
      const me = await within(5000, `a request on the other connection after ${what}`, bystander.request('identity.get', {}))
      assert.equal(me.deviceId, peer.device.deviceId, `the other connection still works after ${what}`)
      assert.deepEqual(await within(5000, 'doc.list and doc.read', snapshot(bystander)), before, `documents unchanged after ${what}`)
    }
  } finally {
    bystander.close()
  }
  assert.equal((await get('/')).status, 200, 'still serving')
})
