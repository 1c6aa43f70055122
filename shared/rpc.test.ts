/**
 * The client protocol's framing and handshake (rpc.ts), over the in-memory reference channel, and the
 * FrameChannel contract run against that reference. Every transport runs the same contract beside it.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode, encode } from 'cborg'
import type { FrameChannel } from './frame-channel.ts'
import { memoryChannelPair, runFrameChannelTests, waitUntil } from './frame-channel-contract.ts'
import { MAX_CLIENT_MESSAGE_BYTES } from './limits.ts'
import { CLIENT_PROTOCOL_VERSION, type ClientEvent, GrapevineError, type PeerClient } from './protocol.ts'
import { createRpcClient, serveRpc } from './rpc.ts'

runFrameChannelTests('memory pair', async () => memoryChannelPair(), test)

type Session = PeerClient & { close(): void; closed: boolean; listeners: Set<(e: ClientEvent) => void>; emit(e: ClientEvent): void }

/** A pretend peer session: `answer` decides each request. */
function session(answer: (method: string, params: unknown) => Promise<unknown> = async () => ({ ok: true })): Session {
  const s = {
    closed: false,
    listeners: new Set<(e: ClientEvent) => void>(),
    request: (method: string, params: unknown) => answer(method, params),
    onEvent(l: (e: ClientEvent) => void) {
      s.listeners.add(l)
      return () => void s.listeners.delete(l)
    },
    emit(e: ClientEvent) {
      for (const l of s.listeners) l(e)
    },
    close() {
      s.closed = true
    },
  }
  return s as unknown as Session
}

/** The near end spoken raw: what it received, decoded, and whether it closed. */
function raw(channel: FrameChannel): { frames: unknown[]; closed: () => boolean } {
  const frames: unknown[] = []
  let closed = false
  channel.onFrame((f) => frames.push(decode(f)))
  channel.onClose(() => (closed = true))
  return { frames, closed: () => closed }
}

async function rejection(p: Promise<unknown>): Promise<GrapevineError> {
  const e = await p.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  )
  assert.ok(e instanceof GrapevineError, String(e))
  return e
}

test('the client says hello first, with CLIENT_PROTOCOL_VERSION; the server answers with its own', async () => {
  const { near, far } = memoryChannelPair()
  const atFar = raw(far)
  const client = createRpcClient(near)
  const request = client.request('identity.get', {})
  await waitUntil('two frames at the server', () => atFar.frames.length >= 2)
  assert.deepEqual(atFar.frames[0], { hello: { version: CLIENT_PROTOCOL_VERSION } })
  assert.deepEqual(atFar.frames[1], { id: 1, method: 'identity.get', params: {} })
  far.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
  far.send(encode({ id: 1, ok: true, result: { name: 'x' } }))
  assert.deepEqual(await request, { name: 'x' })
  client.close()
})

test('a client of another version: every request is refused with version-mismatch naming both versions, and no events flow', async () => {
  const { near, far } = memoryChannelPair()
  const s = session()
  serveRpc(far, s)
  const atNear = raw(near)
  near.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION + 1 } }))
  near.send(encode({ id: 1, method: 'identity.get', params: {} }))
  near.send(encode({ id: 2, method: 'doc.list', params: { workspaceId: 'w' } }))
  await waitUntil('the hello and two answers', () => atNear.frames.length >= 3)
  assert.deepEqual(atNear.frames[0], { hello: { version: CLIENT_PROTOCOL_VERSION } })
  for (const [i, f] of atNear.frames.slice(1).entries()) {
    const answer = f as { id: number; ok: boolean; error: { code: string; message: string } }
    assert.equal(answer.id, i + 1)
    assert.equal(answer.ok, false)
    assert.equal(answer.error.code, 'version-mismatch')
    assert.match(answer.error.message, new RegExp(`version ${CLIENT_PROTOCOL_VERSION + 1} .*version ${CLIENT_PROTOCOL_VERSION}: update`))
  }
  assert.equal(s.listeners.size, 0, 'the session is not subscribed to events')
  assert.equal(atNear.closed(), false, 'the channel stays open, so the client can show the reason')
  near.close()
})

test('a request before the hello is refused with bad-request', async () => {
  const { near, far } = memoryChannelPair()
  serveRpc(far, session())
  const atNear = raw(near)
  near.send(encode({ id: 7, method: 'identity.get', params: {} }))
  await waitUntil('the answer', () => atNear.frames.length >= 1)
  const answer = atNear.frames[0] as { id: number; error: { code: string; message: string } }
  assert.equal(answer.id, 7)
  assert.equal(answer.error.code, 'bad-request')
  assert.match(answer.error.message, /first frame must be a hello/)
  near.close()
})

test('a peer of another version: the client fails pending and later requests with version-mismatch', async () => {
  const { near, far } = memoryChannelPair()
  const atFar = raw(far)
  const client = createRpcClient(near)
  const pending = rejection(client.request('identity.get', {}))
  await waitUntil('the hello at the server', () => atFar.frames.length >= 1)
  far.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION + 1 } }))
  const err = await pending
  assert.equal(err.code, 'version-mismatch')
  assert.match(
    err.message,
    new RegExp(`client speaks version ${CLIENT_PROTOCOL_VERSION} .*peer speaks version ${CLIENT_PROTOCOL_VERSION + 1}`),
  )
  assert.equal((await rejection(client.request('workspace.list', {}))).code, 'version-mismatch')
  client.close()
})

test('the size cap comes before decoding: an oversized frame closes the channel with "over the limit"', async () => {
  const { near, far } = memoryChannelPair()
  const why: string[] = []
  serveRpc(far, session(), (w) => why.push(w))
  const atNear = raw(near)
  near.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
  // 0xff is not a CBOR item: had it been decoded, the reason would say so.
  near.send(new Uint8Array(MAX_CLIENT_MESSAGE_BYTES + 1).fill(0xff))
  await waitUntil('the channel to close', atNear.closed)
  assert.deepEqual(why, [`frame of ${MAX_CLIENT_MESSAGE_BYTES + 1} bytes is over the limit`])
})

test('a malformed frame closes only its own channel', async () => {
  const bad: Array<[string, Uint8Array]> = [
    ['not CBOR', new Uint8Array([0xff, 0xfe, 0x00])],
    ['wrong shape', encode({ method: 'doc.list' })],
    ['a second hello', encode({ hello: { version: CLIENT_PROTOCOL_VERSION } })],
  ]
  for (const [what, frame] of bad) {
    const victim = memoryChannelPair()
    const bystander = memoryChannelPair()
    const victimSession = session()
    serveRpc(victim.far, victimSession)
    serveRpc(
      bystander.far,
      session(async () => ({ name: 'still here' })),
    )
    const other = createRpcClient(bystander.near)
    const atVictim = raw(victim.near)
    victim.near.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
    victim.near.send(frame)
    await waitUntil(`the channel to close after ${what}`, atVictim.closed)
    assert.equal(victimSession.closed, true, `${what}: the victim's session is closed`)
    assert.deepEqual(await other.request('identity.get', {}), { name: 'still here' }, `${what}: the other channel still works`)
    other.close()
  }
})

test('error codes travel: a GrapevineError keeps its code and message, anything else is internal', async () => {
  const { near, far } = memoryChannelPair()
  serveRpc(
    far,
    session(async (method) => {
      if (method === 'doc.read') throw new GrapevineError('forbidden', 'Viewers cannot do that.')
      throw new TypeError('x is undefined')
    }),
  )
  const client = createRpcClient(near)
  const forbidden = await rejection(client.request('doc.read', { docId: 'd' }))
  assert.deepEqual([forbidden.code, forbidden.message], ['forbidden', 'Viewers cannot do that.'])
  const internal = await rejection(client.request('workspace.list', {}))
  assert.deepEqual([internal.code, internal.message], ['internal', 'x is undefined'])
  client.close()
})

test('events reach every listener in order; a removed listener gets none', async () => {
  const { near, far } = memoryChannelPair()
  const s = session()
  serveRpc(far, s)
  const client = createRpcClient(near)
  await client.request('identity.get', {}) // the handshake is done: the session is subscribed
  const a: ClientEvent[] = []
  const b: ClientEvent[] = []
  client.onEvent((e) => a.push(e))
  const offB = client.onEvent((e) => b.push(e))
  s.emit({ type: 'workspace.list' })
  s.emit({ type: 'doc.list', workspaceId: 'w1' })
  await waitUntil('two events', () => a.length >= 2)
  offB()
  s.emit({ type: 'peer.list' })
  await waitUntil('three events', () => a.length >= 3)
  assert.deepEqual(
    a.map((e) => e.type),
    ['workspace.list', 'doc.list', 'peer.list'],
  )
  assert.deepEqual(
    b.map((e) => e.type),
    ['workspace.list', 'doc.list'],
  )
  client.close()
})

test('pending requests fail with unreachable when the channel closes; later ones at once', async () => {
  const { near, far } = memoryChannelPair()
  const s = session(() => new Promise(() => {}))
  serveRpc(far, s)
  const client = createRpcClient(near)
  const pending = rejection(client.request('identity.get', {}))
  await waitUntil('the request to be in flight', () => s.listeners.size > 0)
  far.close()
  assert.equal((await pending).code, 'unreachable')
  assert.equal((await rejection(client.request('identity.get', {}))).code, 'unreachable')
  assert.equal(s.closed, true)
})

test('a bad frame from the peer fails pending requests and closes the channel', async () => {
  const { near, far } = memoryChannelPair()
  const atFar = raw(far)
  const client = createRpcClient(near)
  const pending = rejection(client.request('identity.get', {}))
  await waitUntil('the hello at the server', () => atFar.frames.length >= 1)
  far.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
  far.send(encode({ id: 'one', ok: 'yes' }))
  const err = await pending
  assert.equal(err.code, 'internal')
  assert.match(err.message, /bad frame/)
  await waitUntil('the channel to close', atFar.closed)
})
