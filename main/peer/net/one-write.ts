/**
 * Noise, with each encrypted frame handed to the socket as one buffer.
 *
 * Works around a cost in the libraries as pinned (`@libp2p/noise` 17, `@libp2p/tcp` 11): noise's
 * `encrypt` returns each frame as two chunks, its 2-byte length and its ciphertext, and the TCP
 * connection writes every chunk with its own `socket.write`. With Nagle off, that is two system calls
 * and two TCP segments for every yamux frame (every gossip message, live message and catch-up frame),
 * and the receiver wakes for a 2-byte segment before each frame. Upstream once fixed exactly this
 * (ChainSafe/js-libp2p-noise#387, "concatenate encrypted data length prefix with data before
 * sending"); the rewrite onto message streams brought it back.
 *
 * `oneWrite` joins what `encrypt` returns into one chunk, in place, on each connection noise secures.
 * It relies on that connection's `encrypt` method: if a later noise has none, securing a connection
 * throws (the connection fails, loudly) rather than silently losing the fix; `one-write.test.ts`
 * checks it against the installed noise.
 */
import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface'

/** What the noise connection's `encrypt` returns (a Uint8ArrayList), as far as this uses it. */
interface ChunkList {
  readonly byteLength: number
  readonly bufs: Uint8Array[]
  subarray(): Uint8Array
  consume(bytes: number): void
  append(...bufs: Uint8Array[]): void
}

interface Encrypting {
  encrypt(chunk: unknown): ChunkList
}

function hasEncrypt(c: object): c is Encrypting {
  return typeof (c as Partial<Encrypting>).encrypt === 'function'
}

/** Makes the secured connection's frames leave as one chunk each; throws if it is not the connection this was written for. */
function joinFrames<E>(secured: SecuredConnection<E>): SecuredConnection<E> {
  const conn = secured.connection as object
  if (!hasEncrypt(conn)) throw new Error('noise changed: its connection has no encrypt method (main/peer/net/one-write.ts)')
  const encrypt = conn.encrypt.bind(conn)
  conn.encrypt = (chunk: unknown): ChunkList => {
    const out = encrypt(chunk)
    if (out.bufs.length > 1) {
      const joined = out.subarray()
      out.consume(out.byteLength)
      out.append(joined)
    }
    return out
  }
  return secured
}

/** A connection encrypter's factory (`noise()`), with `joinFrames` applied to every connection it secures. */
export function oneWrite<C>(make: (components: C) => ConnectionEncrypter): (components: C) => ConnectionEncrypter {
  return (components) => {
    const inner = make(components)
    const outer: ConnectionEncrypter = Object.create(inner)
    outer.secureInbound = async (connection, options) => joinFrames(await inner.secureInbound(connection, options))
    outer.secureOutbound = async (connection, options) => joinFrames(await inner.secureOutbound(connection, options))
    return outer
  }
}
