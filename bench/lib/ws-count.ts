/**
 * Counts what a process's WebSockets (the `ws` package, which automerge-repo's and y-websocket's
 * Node clients use) send and receive: bytes, messages, and round trips (each time traffic turns
 * from outgoing to incoming, the other side answered once).
 */
import WebSocket from 'ws'

export const wsCount = { bytesSent: 0, bytesRecv: 0, msgsSent: 0, msgsRecv: 0, roundTrips: 0 }
let last: 'sent' | 'recv' | null = null

const size = (d: unknown): number =>
  typeof d === 'string'
    ? Buffer.byteLength(d)
    : d instanceof ArrayBuffer
      ? d.byteLength
      : ArrayBuffer.isView(d)
        ? d.byteLength
        : Array.isArray(d)
          ? d.reduce((n: number, x) => n + size(x), 0)
          : 0

const proto = WebSocket.prototype as unknown as { send: (...a: unknown[]) => unknown; emit: (ev: string, ...a: unknown[]) => boolean }
const send = proto.send
proto.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
  wsCount.bytesSent += size(data)
  wsCount.msgsSent++
  last = 'sent'
  return send.call(this, data, ...rest)
}
const emit = proto.emit
proto.emit = function (this: unknown, ev: string, ...args: unknown[]) {
  if (ev === 'message') {
    wsCount.bytesRecv += size(args[0])
    wsCount.msgsRecv++
    if (last === 'sent') wsCount.roundTrips++
    last = 'recv'
  }
  return emit.call(this, ev, ...args)
}

export function resetWsCount(): void {
  Object.assign(wsCount, { bytesSent: 0, bytesRecv: 0, msgsSent: 0, msgsRecv: 0, roundTrips: 0 })
  last = null
}
