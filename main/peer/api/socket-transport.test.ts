/**
 * The control socket's length-prefixed channel keeps the FrameChannel contract over a real Unix
 * socket (in a temp folder), and refuses a frame whose length is over the cap before reading it.
 */

import assert from 'node:assert/strict'
import { createConnection, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { runFrameChannelTests, waitUntil } from '../../../shared/frame-channel-contract.ts'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import { tempDir } from '../test/helpers.ts'
import { socketChannel } from './socket-transport.ts'

/** A connected pair of sockets: [the client's, the server's]. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close(): Promise<void> }> {
  const dir = tempDir('grapevine-sock-')
  const path = join(dir.path, 'test.sock')
  const listener = createServer()
  await new Promise<void>((resolve) => listener.listen(path, resolve))
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve))
  const client = createConnection(path)
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject))
  const server = await accepted
  return {
    client,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy()
        server.destroy()
        listener.close(() => {
          dir.remove()
          resolve()
        })
      }),
  }
}

runFrameChannelTests(
  'socketChannel over a Unix socket',
  async () => {
    const { client, server, close } = await socketPair()
    const errors: Error[] = []
    return {
      near: socketChannel(client, (e) => errors.push(e)),
      far: socketChannel(server, (e) => errors.push(e)),
      breakFar: () => server.destroy(),
      teardown: close,
    }
  },
  test,
)

test('a length over the cap closes the channel before the frame is read', async () => {
  const { client, server, close } = await socketPair()
  try {
    const errors: Error[] = []
    const far = socketChannel(server, (e) => errors.push(e))
    let closed = false
    far.onClose(() => {
      closed = true
    })
    const head = Buffer.alloc(4)
    head.writeUInt32BE(MAX_CLIENT_MESSAGE_BYTES + 1)
    client.write(head) // the length alone: no frame bytes follow, so only the length can close it
    await waitUntil('the far end to close', () => closed)
    assert.match(errors[0]?.message ?? '', new RegExp(`frame of ${MAX_CLIENT_MESSAGE_BYTES + 1} bytes is over the`))
  } finally {
    await close()
  }
})
