/**
 * Browser mode's server: static files only from the built renderer, the WebSocket only with the
 * token, from our own origin and host; every request over it is the client protocol.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { createRpcClient } from '../../../shared/rpc.ts'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import type { Peer } from '../peer.ts'
import { startPeer, tempDir, testLog } from '../test/helpers.ts'
import { startUiServer, type UiServer } from './ui-server.ts'

const profile = tempDir()
const site = tempDir()
let peer: Peer
let ui: UiServer

before(async () => {
  mkdirSync(join(site.path, 'assets'))
  writeFileSync(join(site.path, 'index.html'), '<!doctype html><title>Grapevine</title>')
  writeFileSync(join(site.path, 'assets', 'app.js'), 'console.log(1)')
  peer = await startPeer(profile.path, { name: 'Web' })
  ui = await startUiServer(peer, testLog, { dir: site.path })
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
  const ws = await connect(wsUrl(token()))
  const client = createRpcClient({
    send: (f) => ws.send(f),
    onFrame: (l) => void ws.on('message', (d: Buffer) => l(new Uint8Array(d))),
    onClose: (l) => void ws.on('close', l),
    close: () => ws.close(),
  })
  const me = await client.request('identity.get', {})
  assert.equal(me.deviceId, peer.device.deviceId)
  client.close()
})

test('a text frame, garbage, or an oversized frame closes that connection and nothing else', async () => {
  for (const bad of ['hello', Buffer.from([0xff, 0xfe, 0x00]), Buffer.alloc(MAX_CLIENT_MESSAGE_BYTES + 1)]) {
    const ws = await connect(wsUrl(token()))
    const closed = new Promise<void>((r) => ws.once('close', () => r()))
    ws.send(bad)
    await closed
  }
  const ws = await connect(wsUrl(token()))
  ws.close()
  assert.equal((await get('/')).status, 200, 'still serving')
})
