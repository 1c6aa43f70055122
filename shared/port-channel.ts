/**
 * A `FrameChannel` over a MessagePort, for every host: the page's DOM MessagePort, Electron's
 * MessagePortMain (main's own client, the peer's utility process) and Node's MessagePort in tests.
 * Only binary frames pass; what happens to anything else is the caller's choice (`FrameChannelOptions`).
 */
import { asFrame, createFrameChannel, type FrameChannel, type FrameChannelOptions } from './frame-channel.ts'

interface PortBase {
  postMessage(message: Uint8Array): void
  start(): void
  close(): void
}

/** The DOM's MessagePort (the page; Node's MessagePort too): events through `addEventListener`. */
interface TargetPort extends PortBase {
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: () => void): void
}

/** Electron's MessagePortMain: an EventEmitter, with the same `{ data }` message events. */
export interface EmitterPort extends PortBase {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
  on(event: 'close', listener: () => void): unknown
}

export type PortLike = TargetPort | EmitterPort

/** Wraps `port` and starts it; frames that arrive before the first listener wait for it. */
export function portChannel(port: PortLike, opts: FrameChannelOptions = {}): FrameChannel {
  const { channel, receive, closed } = createFrameChannel({
    send: (frame) => port.postMessage(frame),
    close: () => port.close(),
  })
  const onMessage = (event: { data: unknown }): void => {
    const frame = asFrame(event.data)
    if (frame) receive(frame)
    else if (opts.nonFrames === 'close') channel.close('not a binary frame')
  }
  // 'close' is the other end going away (Chromium, Electron and Node all fire it on a closed pair).
  // Node's MessagePort has both APIs; its EventTarget one delivers `{ data }` like the others.
  if ('addEventListener' in port) {
    port.addEventListener('message', onMessage)
    port.addEventListener('close', closed)
  } else {
    port.on('message', onMessage)
    port.on('close', closed)
  }
  port.start()
  return channel
}
