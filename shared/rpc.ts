/**
 * The client protocol over any channel that carries whole frames (a MessagePort, a WebSocket, a
 * length-prefixed local socket): CBOR frames, one request → one response, events in between.
 * Both ends validate every frame's envelope and cap its size before decoding.
 */
import { decode, encode } from 'cborg'
import { z } from 'zod'
import { MAX_CLIENT_MESSAGE_BYTES } from './limits.ts'
import {
  GrapevineError, ERROR_CODES, type ClientEvent, type ClientMethod, type ClientParams, type ClientResults, type PeerClient,
} from './protocol.ts'

/** Whole frames in, whole frames out. */
export interface FrameChannel {
  send(frame: Uint8Array): void
  onFrame(listener: (frame: Uint8Array) => void): void
  onClose(listener: () => void): void
  close(): void
}

const requestFrame = z.object({ id: z.number().int().nonnegative(), method: z.string().max(64), params: z.unknown() })
const serverFrame = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.object({ code: z.enum(ERROR_CODES), message: z.string().max(4000) }) }),
  z.object({ event: z.looseObject({ type: z.string().max(64) }) }),
])

function decodeFrame<T>(schema: z.ZodType<T>, frame: Uint8Array): T {
  if (frame.byteLength > MAX_CLIENT_MESSAGE_BYTES) throw new Error(`frame of ${frame.byteLength} bytes is over the limit`)
  const parsed = schema.safeParse(decode(frame))
  if (!parsed.success) throw new Error('malformed frame')
  return parsed.data
}

/** A `PeerClient` whose requests travel over `channel`. */
export function createRpcClient(channel: FrameChannel): PeerClient & { close(): void } {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const listeners = new Set<(e: ClientEvent) => void>()
  let next = 1
  let closed = false
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  channel.onFrame((frame) => {
    let f: z.infer<typeof serverFrame>
    try {
      f = decodeFrame(serverFrame, frame)
    } catch (err) {
      return failAll(new GrapevineError('internal', `The peer sent a bad frame: ${(err as Error).message}`))
    }
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
  return {
    request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]> {
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
 * request closes the channel: a well-behaved client never sends one.
 */
export function serveRpc(channel: FrameChannel, client: PeerClient & { close(): void }, onBadFrame: (why: string) => void = () => {}): void {
  const send = (value: unknown): void => {
    try {
      channel.send(encode(value))
    } catch {
      // the other end is gone
    }
  }
  const off = client.onEvent((event) => send({ event }))
  channel.onFrame((frame) => {
    let req: z.infer<typeof requestFrame>
    try {
      req = decodeFrame(requestFrame, frame)
    } catch (err) {
      onBadFrame((err as Error).message)
      channel.close()
      return
    }
    client.request(req.method as ClientMethod, req.params as never).then(
      (result) => send({ id: req.id, ok: true, result }),
      (err: Error) => send({
        id: req.id, ok: false,
        error: { code: err instanceof GrapevineError ? err.code : 'internal', message: String(err.message ?? err).slice(0, 4000) },
      }),
    )
  })
  channel.onClose(() => {
    off()
    client.close()
  })
}
