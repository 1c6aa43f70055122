/**
 * `yamux-window.ts` against the installed libp2p: two nodes on 127.0.0.1 (TCP, Noise, Yamux), one stream.
 * As installed, the library answers every message a stream receives with a window update (two socket
 * writes each, 400 for 200 messages); if a later version stops doing so, the first test says so and the
 * workaround can go. With the workaround (loaded after that test), a node that receives 200 small
 * messages writes nothing back until it answers, and flow control still works: megabytes in messages
 * large and small, and one message larger than the whole window, all arrive whole. (This file imports
 * nothing of the peer's, which would load the workaround through net/node.ts.)
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'

const PROTOCOL = '/grapevine-test/yamux-window/1'

const nodes: Libp2p[] = []

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()))
})

async function node(): Promise<Libp2p> {
  const n = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  nodes.push(n)
  return n
}

/**
 * A stream from a new node to another; `received()` counts the bytes that arrived, `receiverPort` names the
 * receiver's socket, `answered()` whether the receiver answered a message whose first byte is 255 (with one byte).
 */
async function pair(): Promise<{ stream: Stream; received: () => number; answered: () => boolean; receiverPort: number }> {
  const [a, b] = [await node(), await node()]
  let received = 0
  await b.handle(PROTOCOL, (s) => {
    s.addEventListener('message', (evt) => {
      received += evt.data.byteLength
      if (evt.data.byteLength === 1 && evt.data.subarray()[0] === 255) s.send(new Uint8Array([1]))
    })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
  let answers = 0
  stream.addEventListener('message', () => {
    answers++
  })
  stream.send(new Uint8Array(1)) // the stream opens (and its protocol is agreed) before anything is counted
  await waitFor('the stream to open', () => received >= 1)
  const receiverPort = Number.parseInt(b.getMultiaddrs()[0]!.toString().split('/tcp/')[1]!, 10)
  const base = received
  return { stream, received: () => received - base, answered: () => answers > 0, receiverPort }
}

/** Sends `data`, waiting for the stream to drain when its buffer is full (as a sender must). */
async function send(stream: Stream, data: Uint8Array): Promise<void> {
  if (!stream.send(data)) await new Promise((r) => stream.addEventListener('drain', r, { once: true }))
}

/** Socket writes of a node while it receives 200 small messages (before it answers), checking that the count sees it. */
async function receiverWrites(): Promise<{ writes: number; messages: number }> {
  const { stream, received, answered, receiverPort } = await pair()
  const write = Socket.prototype.write
  let writes = 0
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (this.localPort === receiverPort) writes++
    return write.apply(this, args)
  } as Socket['write']
  const messages = 200
  let beforeAnswer = 0
  try {
    for (let i = 0; i < messages; i++) {
      await send(stream, new Uint8Array(300).fill(i))
      await new Promise((r) => setImmediate(r))
    }
    await waitFor('every message to arrive', () => received() >= messages * 300)
    beforeAnswer = writes
    stream.send(new Uint8Array([255]))
    await waitFor('the answer', answered)
  } finally {
    Socket.prototype.write = write
  }
  assert.equal(received(), messages * 300 + 1)
  assert.ok(writes > beforeAnswer, 'the count sees the receiver: its answer is written')
  return { writes: beforeAnswer, messages }
}

describe('yamux window updates (net/yamux-window.ts)', () => {
  // First, the library as installed (the workaround is not loaded yet: this file imports nothing that loads it).
  it('as installed, @libp2p/yamux answers every message with a window update (if not, net/yamux-window.ts can go)', async () => {
    const { writes, messages } = await receiverWrites()
    assert.ok(writes >= messages, `the receiver wrote ${writes} times while it received ${messages} messages`)
  })

  it('with the workaround, a node that receives 200 small messages writes nothing back until it answers', async () => {
    await import('./yamux-window.ts')
    const { writes, messages } = await receiverWrites()
    assert.ok(writes <= messages / 20, `the receiver wrote ${writes} times while it received ${messages} messages`)
  })

  it('flow control still works: 6 MiB in small and large messages, and one larger than the window, arrive whole', async () => {
    await import('./yamux-window.ts')
    const { stream, received } = await pair()
    let sent = 0
    for (let i = 0; i < 2_000; i++) {
      await send(stream, new Uint8Array(1_000).fill(i))
      sent += 1_000
    }
    for (let i = 0; i < 64; i++) {
      await send(stream, new Uint8Array(64 * 1024).fill(i))
      sent += 64 * 1024
    }
    await send(stream, new Uint8Array(1024 * 1024).fill(7)) // four times the initial window of 256 KiB
    sent += 1024 * 1024
    await waitFor(`all ${sent} bytes to arrive`, () => received() >= sent, 20_000)
    assert.equal(received(), sent)
  })
})
