/**
 * The client protocol over a local stream socket (Unix socket, or a named pipe on Windows),
 * as length-prefixed frames. The CLI uses it to talk to an always-on peer on the same profile.
 * The socket lives in the profile directory, so only this OS user can reach it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { chmodSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import { createFrameChannel, type FrameChannel } from '../../../shared/frame-channel.ts'
import { createRpcClient, serveRpc } from '../../../shared/rpc.ts'
import type { Log } from '../log.ts'

function controlSocketPath(profileDir: string): string {
  if (process.platform === 'win32') {
    return `\\\\.\\pipe\\grapevine-${createHash('sha256').update(profileDir).digest('hex').slice(0, 16)}`
  }
  return join(profileDir, 'peer.sock')
}

/**
 * Frames over a byte stream: a 4-byte big-endian length, then the frame. An oversized frame closes it.
 * Frames sent in the same turn of the event loop (the answers to requests one group commit made
 * durable, an answer and the events it caused) leave in one write: the socket is corked until the
 * turn's callbacks and promises have run. Each write is a system call that wakes the other end: about
 * 40 µs of the peer's thread per frame on a 2-core virtual machine (session 36, W6's edits over this
 * socket with 8 in flight), a tenth of what the peer spent on each edit.
 */
export function socketChannel(socket: Socket, onError: (err: Error) => void): FrameChannel {
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  const { channel, receive, closed } = createFrameChannel({
    send(frame) {
      if (!corked) {
        corked = true
        socket.cork()
        process.nextTick(uncork)
      }
      const head = Buffer.alloc(4)
      head.writeUInt32BE(frame.byteLength)
      socket.write(Buffer.concat([head, frame]))
    },
    close: () => void socket.end(),
  })
  let buf: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0)
      // Checked before buffering the frame: a length is all it takes to ask for gigabytes.
      if (len > MAX_CLIENT_MESSAGE_BYTES) {
        onError(new Error(`frame of ${len} bytes is over the ${MAX_CLIENT_MESSAGE_BYTES}-byte limit`))
        socket.destroy()
        return closed()
      }
      if (buf.length < 4 + len) return
      const frame = buf.subarray(4, 4 + len)
      buf = buf.subarray(4 + len)
      receive(frame)
    }
  })
  socket.on('error', (err) => onError(err))
  socket.on('close', closed)
  return channel
}

/** What the transports need of the peer: a new client session per connection. */
export interface SessionSource {
  connect(): PeerClient & { close(): void }
}

/** Serves the peer's client protocol on the profile's control socket. */
export async function serveControlSocket(peer: SessionSource, profileDir: string, log: Log): Promise<Server> {
  const path = controlSocketPath(profileDir)
  if (process.platform !== 'win32') rmSync(path, { force: true }) // left by a crashed peer; the profile lock is ours
  const server = createServer((socket) => {
    const channel = socketChannel(socket, (err) => log('warn', `control socket: ${err.message}`))
    serveRpc(channel, peer.connect(), (why) => log('warn', `control socket: ${why}`))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  // The socket is made 0777 less the umask; only this user may connect (on Linux connecting needs
  // write permission). Until this chmod the 0700 profile folder already keeps others out. A named
  // pipe on Windows has no mode: it gets the default ACL of this user's session.
  if (process.platform !== 'win32') chmodSync(path, 0o600)
  return server
}

/** Connects to a running peer's control socket. */
export function connectControlSocket(profileDir: string): Promise<PeerClient & { close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(profileDir))
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(createRpcClient(socketChannel(socket, () => socket.destroy())))
    })
  })
}
