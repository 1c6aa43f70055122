/**
 * `oneWrite` (one-write.ts) against the installed libp2p: two nodes on 127.0.0.1, one stream, 100 messages
 * sent one by one, and the TCP socket writes counted per socket (the sender's is the busier: the receiver's
 * window updates are few once net/yamux-window.ts applies, which the peer's modules imported here bring). Each
 * message is a yamux frame; with noise as it is, each frame takes two writes; with `oneWrite`, one. If a later
 * noise sends its frames whole, the first test says so, and the workaround can go.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { oneWrite } from './one-write.ts'
import { waitFor } from '../test/helpers.ts'

type Encrypter = NonNullable<Libp2pOptions['connectionEncrypters']>[number]

const PROTOCOL = '/grapevine-test/one-write/1'
const MESSAGES = 100
const SIZE = 300

const nodes: Libp2p[] = []
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()))
})

async function node(encrypter: Encrypter): Promise<Libp2p> {
  const n = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
  })
  nodes.push(n)
  return n
}

/**
 * Socket writes per message on the busier of the two sockets while one node sends `MESSAGES` messages to the
 * other, one per turn of the event loop; checks that all arrived whole.
 */
async function writesPerMessage(encrypter: Encrypter): Promise<number> {
  const [a, b] = [await node(encrypter), await node(encrypter)]
  let received = 0
  await b.handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      received += evt.data.byteLength
    })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
  stream.send(new Uint8Array(1)) // the stream opens (and its protocol is agreed) before the count
  await waitFor('the stream to open', () => received >= 1)
  received = 0
  const write = Socket.prototype.write
  const writes = new Map<Socket, number>()
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    writes.set(this, (writes.get(this) ?? 0) + 1)
    return write.apply(this, args)
  } as Socket['write']
  try {
    for (let i = 0; i < MESSAGES; i++) {
      stream.send(new Uint8Array(SIZE).fill(i))
      await new Promise((r) => setImmediate(r))
    }
    await waitFor('every message to arrive', () => received >= MESSAGES * SIZE)
  } finally {
    Socket.prototype.write = write
  }
  assert.equal(received, MESSAGES * SIZE)
  return Math.max(...writes.values()) / MESSAGES
}

describe('one write per encrypted frame', () => {
  it('noise as installed writes each frame in two (the cost oneWrite removes)', async () => {
    const w = await writesPerMessage(noise())
    console.log('plain', w)
    assert.ok(w >= 2, `${w} writes per message: noise now sends a frame whole, and net/one-write.ts can go`)
  })

  it('with oneWrite, one write per message, and everything arrives', async () => {
    const w = await writesPerMessage(oneWrite(noise()))
    console.log('one', w)
    assert.ok(w <= 1.1, `${w} writes per message`)
  })
})
