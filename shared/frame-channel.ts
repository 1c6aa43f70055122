/**
 * `FrameChannel`, the one thing the client protocol needs from a transport, and the behaviour every
 * transport's channel shares (`createFrameChannel`), so that a MessagePort, a WebSocket and a
 * length-prefixed socket behave alike where it matters: the contract in frame-channel-contract.ts.
 */

/** Whole frames in, whole frames out, in order. */
export interface FrameChannel {
  /** Sends one frame; does nothing once the channel is closed. */
  send(frame: Uint8Array): void
  /** Every frame from the other end; frames that arrived before the first listener wait for it. */
  onFrame(listener: (frame: Uint8Array) => void): void
  /** Called once when either end closes or the link breaks; at once if it already has. */
  onClose(listener: () => void): void
  /** Closes both ends (idempotent). `error` says the other end broke the protocol; transports that can, pass it on. */
  close(error?: string): void
}

/** What a transport gives the shared logic: raw sending and closing. */
export interface FrameTransport {
  send(frame: Uint8Array): void
  close(error?: string): void
}

/** A channel plus the two calls its transport makes: a frame arrived, the link closed. */
export interface FrameChannelEnds {
  channel: FrameChannel
  receive(frame: Uint8Array): void
  closed(): void
}

/** The shared half of every transport's channel; the transport feeds `receive` and `closed`. */
export function createFrameChannel(transport: FrameTransport): FrameChannelEnds {
  const frameListeners: Array<(frame: Uint8Array) => void> = []
  const closeListeners: Array<() => void> = []
  // Frames that came before the first listener (a transport cannot always be told to wait).
  const early: Uint8Array[] = []
  let isClosed = false
  const closed = (): void => {
    if (isClosed) return
    isClosed = true
    early.length = 0
    for (const l of closeListeners.splice(0)) l()
  }
  const channel: FrameChannel = {
    send(frame) {
      if (isClosed) return
      try {
        transport.send(frame)
      } catch {
        // A transport that throws on send is broken: say so the same way as any other close.
        channel.close()
      }
    },
    onFrame(listener) {
      frameListeners.push(listener)
      if (frameListeners.length === 1) for (const f of early.splice(0)) listener(f)
    },
    onClose(listener) {
      // Later, not now: the caller is usually still setting up, and expects to finish first.
      if (isClosed) void Promise.resolve().then(listener)
      else closeListeners.push(listener)
    },
    close(error) {
      if (isClosed) return
      try {
        transport.close(error)
      } finally {
        closed()
      }
    },
  }
  return {
    channel,
    receive(frame) {
      if (isClosed) return
      if (frameListeners.length === 0) early.push(frame)
      else for (const l of frameListeners) l(frame)
    },
    closed,
  }
}

/**
 * What a channel does with a message that is not a binary frame. The peer's end closes (a client that
 * sends one is broken or hostile); a client's end drops it (the peer never sends one, and the client
 * keeps its connection).
 */
export interface FrameChannelOptions {
  nonFrames?: 'drop' | 'close'
}

/** A message as a frame: binary data is, anything else (text, objects) is not. */
export function asFrame(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return null
}
