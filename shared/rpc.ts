/**
 * The client protocol over any channel that carries whole frames (a MessagePort, a WebSocket, a
 * length-prefixed local socket): CBOR frames, one request → one response, events in between.
 * Both ends cap a frame's size, then decode it, then validate its envelope.
 *
 * A session opens with a hello each way carrying `CLIENT_PROTOCOL_VERSION`: the client's first frame,
 * the server's answer. Until versions match, the server answers every request with 'version-mismatch'
 * (or 'bad-request' before any hello) and sends no events; a client that hears another version fails
 * every request with 'version-mismatch'.
 */
import { decode, encode } from 'cborg'
import { z } from 'zod'
import type { FrameChannel } from './frame-channel.ts'
import { MAX_CLIENT_MESSAGE_BYTES } from './limits.ts'
import {
  CLIENT_PROTOCOL_VERSION,
  type ClientEvent,
  type ClientMethod,
  type ClientParams,
  type ClientResults,
  ERROR_CODES,
  GrapevineError,
  type PeerClient,
} from './protocol.ts'

export type { FrameChannel } from './frame-channel.ts'

const hello = z.object({ hello: z.object({ version: z.number().int() }) })
const requestFrame = z.object({ id: z.number().int().nonnegative(), method: z.string().max(64), params: z.unknown() })
const clientFrame = z.union([hello, requestFrame])
const serverFrame = z.union([
  hello,
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.object({ code: z.enum(ERROR_CODES), message: z.string().max(4000) }) }),
  z.object({ event: z.looseObject({ type: z.string().max(64) }) }),
])

/** Caps the size, then decodes, then validates; throws with a short reason. */
function decodeFrame<T>(schema: z.ZodType<T>, frame: Uint8Array): T {
  if (frame.byteLength > MAX_CLIENT_MESSAGE_BYTES) throw new Error(`frame of ${frame.byteLength} bytes is over the limit`)
  let value: unknown
  try {
    value = decode(frame)
  } catch {
    throw new Error('malformed frame (not CBOR)')
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new Error('malformed frame')
  return parsed.data
}

const versionMismatch = (client: number, peer: number): GrapevineError =>
  new GrapevineError(
    'version-mismatch',
    `This client speaks version ${client} of Grapevine's client protocol and the peer speaks version ${peer}: update the older one.`,
  )

/** A `PeerClient` whose requests travel over `channel`; it says hello first. */
export function createRpcClient(channel: FrameChannel): PeerClient & { close(): void } {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const listeners = new Set<(e: ClientEvent) => void>()
  let next = 1
  let closed = false
  let heard = false
  let refused: GrapevineError | null = null
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  channel.onFrame((frame) => {
    let f: z.infer<typeof serverFrame>
    try {
      f = decodeFrame(serverFrame, frame)
      if (heard && 'hello' in f) throw new Error('a second hello')
      if (!heard && !('hello' in f)) throw new Error('a frame before the hello')
    } catch (err) {
      // After a bad frame nothing that follows can be trusted (on a byte stream, not even the framing).
      failAll(new GrapevineError('internal', `The peer sent a bad frame: ${(err as Error).message}`))
      return channel.close('bad frame')
    }
    if ('hello' in f) {
      heard = true
      if (f.hello.version !== CLIENT_PROTOCOL_VERSION) {
        refused = versionMismatch(CLIENT_PROTOCOL_VERSION, f.hello.version)
        failAll(refused)
      }
      return
    }
    if (refused) return
    if ('event' in f) {
      for (const l of listeners) l(f.event as ClientEvent)
      return
    }
    const p = pending.get(f.id)
    pending.delete(f.id)
    if (!p) return
    if (f.ok) p.resolve(f.result)
    else p.reject(new GrapevineError(f.error.code, f.error.message))
  })
  channel.onClose(() => {
    closed = true
    failAll(new GrapevineError('unreachable', 'The connection to the peer closed.'))
  })
  channel.send(encode({ hello: { version: CLIENT_PROTOCOL_VERSION } }))
  return {
    request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]> {
      if (refused) return Promise.reject(refused)
      if (closed) return Promise.reject(new GrapevineError('unreachable', 'The connection to the peer is closed.'))
      const id = next++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        channel.send(encode({ id, method, params }))
      })
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      closed = true
      channel.close()
    },
  }
}

/**
 * Serves `client` (a session of the peer) to the other end of `channel`. A frame that is not a
 * hello or a request closes the channel: a well-behaved client never sends one.
 */
export function serveRpc(
  channel: FrameChannel,
  client: PeerClient & { close(): void },
  onBadFrame: (why: string) => void = () => {},
): void {
  const send = (value: unknown): void => {
    try {
      channel.send(encode(value))
    } catch {
      // the other end is gone
    }
  }
  // Why requests are refused: no hello yet, or a hello with another version.
  let refused: GrapevineError | null = new GrapevineError(
    'bad-request',
    `The client did not say which version of Grapevine's client protocol it speaks (its first frame must be a hello); the peer speaks version ${CLIENT_PROTOCOL_VERSION}.`,
  )
  let heard = false
  let off = (): void => {}
  channel.onFrame((frame) => {
    let f: z.infer<typeof clientFrame>
    try {
      f = decodeFrame(clientFrame, frame)
      if (heard && 'hello' in f) throw new Error('a second hello')
    } catch (err) {
      onBadFrame((err as Error).message)
      channel.close((err as Error).message)
      return
    }
    if ('hello' in f) {
      heard = true
      send({ hello: { version: CLIENT_PROTOCOL_VERSION } })
      if (f.hello.version !== CLIENT_PROTOCOL_VERSION) {
        refused = versionMismatch(f.hello.version, CLIENT_PROTOCOL_VERSION)
        onBadFrame(`client speaks protocol version ${f.hello.version}, not ${CLIENT_PROTOCOL_VERSION}`)
        return
      }
      refused = null
      off = client.onEvent((event) => send({ event }))
      return
    }
    const { id, method, params } = f
    if (refused) return send({ id, ok: false, error: { code: refused.code, message: refused.message } })
    client.request(method as ClientMethod, params as never).then(
      (result) => send({ id, ok: true, result }),
      (err: Error) =>
        send({
          id,
          ok: false,
          error: { code: err instanceof GrapevineError ? err.code : 'internal', message: String(err.message ?? err).slice(0, 4000) },
        }),
    )
  })
  channel.onClose(() => {
    off()
    client.close()
  })
}
