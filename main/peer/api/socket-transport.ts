/**
 * The client protocol over a local stream socket (Unix socket, or a named pipe on Windows):
 * length-prefixed CBOR frames. The CLI uses it to talk to an always-on peer on the same profile.
 * The socket lives in the profile directory, so only this OS user can reach it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { decode, encode } from 'cborg'
import { z } from 'zod'
import { MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import {
  GrapevineError, type ClientEvent, type ClientMethod, type ClientParams, type ClientResponse, type ClientResults, type ErrorCode,
  type PeerClient,
} from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import type { Log } from '../log.ts'

export function controlSocketPath(profileDir: string): string {
  if (process.platform === 'win32') {
    return `\\\\.\\pipe\\grapevine-${createHash('sha256').update(profileDir).digest('hex').slice(0, 16)}`
  }
  return join(profileDir, 'peer.sock')
}

const requestEnvelope = z.object({ id: z.number().int().nonnegative(), method: z.string().max(64), params: z.unknown() })
const frameSchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
  z.object({ event: z.object({ type: z.string() }).passthrough() }),
])

/** Splits a byte stream into frames of at most `max` bytes; calls `fail` on an oversized one. */
function framer(onFrame: (frame: Uint8Array) => void, fail: (err: Error) => void, max = MAX_CLIENT_MESSAGE_BYTES) {
  let buf: Buffer = Buffer.alloc(0)
  return (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0)
      if (len > max) return fail(new Error(`frame of ${len} bytes is over the ${max}-byte limit`))
      if (buf.length < 4 + len) return
      const frame = buf.subarray(4, 4 + len)
      buf = buf.subarray(4 + len)
      onFrame(frame)
    }
  }
}

function writeFrame(socket: Socket, value: unknown): void {
  const body = encode(value)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.byteLength)
  socket.write(Buffer.concat([head, body]))
}

/** Serves the peer's client protocol on the profile's control socket. */
export async function serveControlSocket(peer: Peer, profileDir: string, log: Log): Promise<Server> {
  const path = controlSocketPath(profileDir)
  if (process.platform !== 'win32') rmSync(path, { force: true }) // left by a crashed peer; the profile lock is ours
  const server = createServer((socket) => {
    const client = peer.connect()
    const off = client.onEvent((event) => writeFrame(socket, { event }))
    const fail = (err: Error): void => {
      log('warn', `control socket: ${err.message}`)
      socket.destroy()
    }
    socket.on('data', framer((frame) => {
      let req: z.infer<typeof requestEnvelope>
      try {
        const parsed = requestEnvelope.safeParse(decode(frame))
        if (!parsed.success) throw new Error('not a request')
        req = parsed.data
      } catch (err) {
        return fail(new Error(`bad frame: ${(err as Error).message}`))
      }
      client.request(req.method as ClientMethod, req.params as never).then(
        (result) => writeFrame(socket, { id: req.id, ok: true, result }),
        (err: Error) => writeFrame(socket, {
          id: req.id, ok: false,
          error: { code: err instanceof GrapevineError ? err.code : 'internal', message: err.message },
        }),
      )
    }, fail))
    socket.on('close', () => {
      off()
      client.close()
    })
    socket.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  return server
}

/** Connects to a running peer's control socket. */
export function connectControlSocket(profileDir: string): Promise<PeerClient & { close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(profileDir))
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
    const listeners = new Set<(e: ClientEvent) => void>()
    let next = 1
    const failAll = (err: Error): void => {
      for (const p of pending.values()) p.reject(err)
      pending.clear()
    }
    socket.on('data', framer((frame) => {
      const parsed = frameSchema.safeParse(decode(frame))
      if (!parsed.success) return failAll(new Error('the peer sent a malformed frame'))
      const f = parsed.data
      if ('event' in f) {
        for (const l of listeners) l(f.event as ClientEvent)
        return
      }
      const p = pending.get(f.id)
      pending.delete(f.id)
      if (!p) return
      if (f.ok) p.resolve((f as Extract<ClientResponse, { ok: true }>).result)
      else p.reject(new GrapevineError(f.error.code as ErrorCode, f.error.message))
    }, (err) => { failAll(err); socket.destroy() }))
    socket.once('error', reject)
    socket.on('close', () => failAll(new GrapevineError('unreachable', 'The connection to the running peer closed.')))
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', (err) => failAll(err))
      resolve({
        request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]> {
          const id = next++
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res as (v: unknown) => void, reject: rej })
            writeFrame(socket, { id, method, params })
          })
        },
        onEvent(listener) {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
        close() {
          socket.end()
        },
      })
    })
  })
}
