/**
 * A workaround for @libp2p/yamux 8: after every data frame a stream receives, it sends the remote a
 * WINDOW_UPDATE frame giving back the bytes just read (stream.js `handleData` → `sendWindowUpdate`).
 * Every message a teammate sends (a live keystroke, a gossip RPC, a heads announcement) is thus
 * answered by a frame of its own: encrypted by Noise, written to the socket, read, decrypted and
 * parsed at the other end. With 8 teammates that was about a tenth of a peer's CPU while typing.
 * The Yamux spec leaves it to the receiver when to send updates; go-yamux and rust-yamux send one
 * once half the window has been read. This does the same: a stream that is established and still has
 * at least half of its receive window sends none; otherwise (half read, or an update that carries a
 * flag: SYN, ACK, a resume after a pause) the library's own method runs as before. The sender never
 * runs dry: it keeps at least half a window (128 KiB to start) of credit between updates.
 *
 * Applied once, to the library's class, when this module is first imported (net/node.ts); it throws then
 * if the class has no `sendWindowUpdate`. It reads the stream's own fields: were they renamed, the
 * comparison is false and the library's method runs as before (nothing breaks, nothing is saved), which
 * `yamux-window.test.ts` catches, as it does a library that no longer needs this.
 */
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

const proto = YamuxStream.prototype as unknown as WindowFields
const original = proto.sendWindowUpdate
if (typeof original !== 'function') throw new Error('@libp2p/yamux: YamuxStream.sendWindowUpdate is not there; see net/yamux-window.ts')
proto.sendWindowUpdate = function (this: WindowFields): void {
  if (this.state === StreamState.Established && this.recvWindowCapacity * 2 >= this.recvWindow) return
  original.call(this)
}
