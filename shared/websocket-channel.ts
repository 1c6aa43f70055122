/**
 * A `FrameChannel` over an open WebSocket, for both ends: the page's (the DOM's WebSocket, also
 * Node's global one) and the peer's (the `ws` package, whose `addEventListener` has the same shape).
 * Each binary message is one frame; a text message is dropped, or closes the connection with 1003.
 */
import { asFrame, createFrameChannel, type FrameChannel, type FrameChannelOptions } from './frame-channel.ts'

/** The parts of a WebSocket used here, as the DOM and `ws` both have them. */
export interface WebSocketLike {
  binaryType: string
  send(data: Uint8Array<ArrayBuffer>): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: () => void): void
}

/** RFC 6455 close codes this channel sends. */
export const WS_CLOSE = {
  /** A text message: this protocol is binary only. */
  textFrame: 1003,
  /** A frame the protocol cannot accept (malformed, oversized, out of turn). */
  badFrame: 1008,
} as const

export function webSocketChannel(ws: WebSocketLike, opts: FrameChannelOptions = {}): FrameChannel {
  ws.binaryType = 'arraybuffer'
  let errorCode: number = WS_CLOSE.badFrame
  const { channel, receive, closed } = createFrameChannel({
    // Frames are never backed by a SharedArrayBuffer (cborg and the transports allocate plain ones).
    send: (frame) => ws.send(frame as Uint8Array<ArrayBuffer>),
    close(error) {
      if (!error) return ws.close()
      try {
        // A close reason is at most 123 bytes.
        ws.close(errorCode, error.slice(0, 100))
      } catch {
        // Browsers let a page send only 1000 and 3000–4999: it closes without a code.
        ws.close()
      }
    },
  })
  ws.addEventListener('message', (event) => {
    const frame = asFrame(event.data)
    if (frame) return receive(frame)
    if (opts.nonFrames !== 'close') return
    errorCode = WS_CLOSE.textFrame
    channel.close('binary frames only')
  })
  ws.addEventListener('close', closed)
  return channel
}
