/**
 * Live: this device's messages go straight to every connected member of their workspace, over one
 * libp2p stream per teammate (LIVE_PROTOCOL). One hop, and none of gossipsub's signing, verifying and
 * mesh bookkeeping: a keystroke's message takes 0.84 ms p50 from process to process this way against
 * 3.0 ms through gossipsub (bench/workers/floors.ts, the W1 floor rows).
 *
 * Gossipsub carries a message as well whenever a member of its workspace was not written to here (not
 * connected, connected only through a relay, its stream not open yet or full): for teammates this device
 * reaches only through others. A receiver handles whichever copy comes first and knows the other by its
 * bytes (`SeenMessages`). When every member was written to, gossip is not used (`Gossip.send`): it would
 * only bring each a copy, and make each forward its copy to every other teammate. So the live path is
 * best effort, as gossip is: a frame that cannot go now (no stream yet and the queue full, the stream's
 * write buffer full) is not written, and gossip carries it; one written to a stream that then breaks
 * before it leaves is brought by catch-up (on reconnect, and every 30 s). The messages are the gossip
 * messages, checked the same way on arrival (`Gossip.receiveLive`); the sender is the connection's remote
 * peer, proven by Noise.
 *
 * Frames: a 4-byte big-endian length, then that many bytes (at most MAX_GOSSIP_MESSAGE_BYTES). A
 * frame over the cap, or a stream from a peer that shares no workspace with us, ends the stream.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../../../shared/limits.ts'
import { LIVE_PROTOCOL } from '../wire/peer-protocol.ts'
import { guardStreams } from '../net/limits.ts'
import type { GrapevineNode } from '../net/node.ts'
import type { Log } from '../log.ts'
import { sha256 } from '../identity/keys.ts'

/** Frames held while a stream opens; beyond this they are dropped (gossip carries them). */
const MAX_QUEUED_FRAMES = 256
/** How long a stopping peer's streams may take to write out what they were handed (`Live.stop`). */
const STOP_FLUSH_MS = 1_000
/** A teammate's inbound frames waiting to be handled; beyond this the stream is paused. */
const MAX_UNHANDLED_FRAMES = 64

export interface LiveStats {
  sent: number
  received: number
  /** Frames not sent: the stream could not open or was full. */
  dropped: number
  /** Messages that came a second time (live and gossip), skipped. */
  duplicates: number
  /** Streams ended for a bad frame or a sender who is no teammate. */
  refused: number
}

interface Outbound {
  stream: Stream | null
  opening: boolean
  queue: Uint8Array[]
  /** The connection whose peer does not speak LIVE_PROTOCOL (an older version): not tried again on it. */
  unsupportedOn: string | null
}

/** Handles one message from a teammate's stream; the verdict says whether the stream may go on. */
export type LiveReceiver = (origin: string, data: Uint8Array) => Promise<'ok' | 'refuse'> | 'ok' | 'refuse'

/** What the live path is built from (libp2p-style components, as the other parts of a peer). */
export interface LiveComponents {
  node: GrapevineNode
  /** Whether a peer is a teammate: only teammates get a stream, and only theirs are read. */
  isTeammate: (peerId: string) => boolean
  log: Log
}

export class Live {
  readonly stats: LiveStats = { sent: 0, received: 0, dropped: 0, duplicates: 0, refused: 0 }
  private readonly out = new Map<string, Outbound>()
  private readonly node: GrapevineNode
  private readonly isTeammate: (peerId: string) => boolean
  private readonly log: Log
  private receiver: LiveReceiver = () => 'ok'
  private stopped = false

  constructor(components: LiveComponents) {
    const { node, isTeammate, log } = components
    this.node = node
    this.isTeammate = isTeammate
    this.log = log
  }

  async start(receiver: LiveReceiver): Promise<void> {
    this.receiver = receiver
    const handler = guardStreams(this.node, LIVE_PROTOCOL, (stream, connection) => this.inbound(stream, connection))
    await this.node.handle(LIVE_PROTOCOL, handler, { maxInboundStreams: 4 })
    this.node.addEventListener('peer:disconnect', (evt) => this.forget(evt.detail.toString()))
  }

  /**
   * Sends one message to every connected peer `to` accepts (best effort; see the module comment). Returns
   * the peers it was written to now, on an open stream (not those it waits for a stream to open for).
   */
  send(to: (peerId: string) => boolean, data: Uint8Array): Set<string> {
    const written = new Set<string>()
    if (this.stopped || data.byteLength > MAX_GOSSIP_MESSAGE_BYTES) return written
    let frame: Uint8Array | null = null
    const done = new Set<string>()
    for (const conn of this.node.getConnections()) {
      const peer = conn.remotePeer.toString()
      if (conn.status !== 'open' || conn.limits || done.has(peer) || !to(peer)) continue
      done.add(peer)
      frame ??= framed(data)
      const o = this.outbound(peer)
      if (o.stream && o.stream.status === 'open' && o.stream.writeStatus === 'writable') {
        if (this.write(peer, o, frame)) written.add(peer)
        continue
      }
      if (o.unsupportedOn === conn.id) continue
      o.stream = null
      if (o.queue.length >= MAX_QUEUED_FRAMES) {
        this.stats.dropped++
        continue
      }
      o.queue.push(frame)
      if (!o.opening) void this.open(peer, o, conn)
    }
    return written
  }

  /** The peers this device has an open connection to now, direct or through a relay. */
  connectedPeers(): Set<string> {
    const peers = new Set<string>()
    for (const conn of this.node.getConnections()) if (conn.status === 'open') peers.add(conn.remotePeer.toString())
    return peers
  }

  /** Opens the stream to a teammate ahead of its first message (on connect), so that message waits for nothing. */
  warm(peer: PeerId): void {
    const id = peer.toString()
    if (this.stopped || !this.isTeammate(id) || this.out.get(id)?.stream) return
    const conn = this.connectionTo(id)
    if (!conn) return
    const o = this.outbound(id)
    if (!o.opening && o.unsupportedOn !== conn.id) void this.open(id, o, conn)
  }

  /**
   * Sends nothing more; what was handed to the streams is written out first (a peer that stops sends the
   * covers it made as it stopped, own-covers.ts), for at most `STOP_FLUSH_MS`, then the streams are closed.
   */
  async stop(): Promise<void> {
    this.stopped = true
    const streams = [...this.out.values()].flatMap((o) => (o.stream ? [o.stream] : []))
    this.out.clear()
    const signal = AbortSignal.timeout(STOP_FLUSH_MS)
    await Promise.all(streams.map((s) => s.close({ signal }).catch((err: Error) => s.abort(err))))
  }

  private outbound(peer: string): Outbound {
    let o = this.out.get(peer)
    if (!o) {
      o = { stream: null, opening: false, queue: [], unsupportedOn: null }
      this.out.set(peer, o)
    }
    return o
  }

  /** The connection to `peer` to open the live stream on: a direct one before a relayed one. */
  private connectionTo(peer: string): Connection | undefined {
    const open = this.node.getConnections().filter((c) => c.status === 'open' && c.remotePeer.toString() === peer && !c.limits)
    return open.find((c) => c.direct) ?? open[0]
  }

  /** Whether the frame was handed to the stream. */
  private write(peer: string, o: Outbound, frame: Uint8Array): boolean {
    const s = o.stream!
    // The transport's buffer is full: this teammate is slow, and what it misses now reaches it by gossip.
    if (s.writableNeedsDrain) {
      this.stats.dropped++
      return false
    }
    try {
      s.send(frame)
      this.stats.sent++
      return true
    } catch (err) {
      this.stats.dropped++
      o.stream = null
      this.log('debug', `live stream to ${peer}: ${(err as Error).message}`)
      return false
    }
  }

  private async open(peer: string, o: Outbound, conn: Connection): Promise<void> {
    o.opening = true
    try {
      const stream = await conn.newStream(LIVE_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      if (this.stopped || this.out.get(peer) !== o) {
        stream.abort(new Error('no longer wanted'))
        return
      }
      o.stream = stream
      stream.addEventListener('close', () => {
        if (o.stream === stream) o.stream = null
      })
      const queued = o.queue
      o.queue = []
      for (const f of queued) this.write(peer, o, f)
    } catch (err) {
      this.stats.dropped += o.queue.length
      o.queue = []
      // An older peer: gossip alone reaches it, and this connection is not asked again.
      if ((err as Error).name === 'UnsupportedProtocolError') o.unsupportedOn = conn.id
      this.log('debug', `live stream to ${peer} did not open: ${(err as Error).message}`)
    } finally {
      o.opening = false
    }
  }

  private forget(peer: string): void {
    const o = this.out.get(peer)
    if (!o) return
    o.stream?.abort(new Error('disconnected'))
    this.out.delete(peer)
  }

  private inbound(stream: Stream, connection: Connection): void {
    const origin = connection.remotePeer.toString()
    if (!this.isTeammate(origin)) {
      this.stats.refused++
      stream.abort(new Error('live messages are for teammates only'))
      return
    }
    const reader = new FrameReader(MAX_GOSSIP_MESSAGE_BYTES)
    let chain: Promise<unknown> = Promise.resolve()
    let unhandled = 0
    const refuse = (why: string): void => {
      this.stats.refused++
      this.log('warn', `ended the live stream of ${origin}: ${why}`)
      stream.abort(new Error(why))
    }
    stream.addEventListener('message', (evt) => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray())
      } catch (err) {
        refuse((err as Error).message)
        return
      }
      for (const data of frames) {
        this.stats.received++
        unhandled++
        if (unhandled > MAX_UNHANDLED_FRAMES) stream.pause()
        // In order, one after the other: a message may wait on an earlier one (membership ops).
        chain = chain
          .then(() => (stream.status === 'open' ? this.receiver(origin, data) : 'ok'))
          .then(
            (verdict) => {
              if (verdict === 'refuse' && stream.status === 'open') refuse('a message that was not valid')
            },
            (err: unknown) => this.log('warn', `live message from ${origin}: ${(err as Error).message}`),
          )
          .finally(() => {
            unhandled--
            if (unhandled <= MAX_UNHANDLED_FRAMES / 2 && stream.status === 'open') stream.resume()
          })
      }
    })
  }
}

/** The bytes of a message with its 4-byte length in front. */
export function framed(data: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + data.byteLength)
  new DataView(f.buffer).setUint32(0, data.byteLength)
  f.set(data, 4)
  return f
}

/** Splits a byte stream into length-prefixed frames; throws on a frame longer than `max`. */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0)
  private readonly max: number

  constructor(max: number) {
    this.max = max
  }

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.byteLength === 0 ? chunk : concat(this.buf, chunk)
    const frames: Uint8Array[] = []
    let at = 0
    while (this.buf.byteLength - at >= 4) {
      const len = new DataView(this.buf.buffer, this.buf.byteOffset + at, 4).getUint32(0)
      if (len > this.max) throw new Error(`a frame of ${len} bytes, over the ${this.max}-byte limit`)
      if (this.buf.byteLength - at - 4 < len) break
      // A copy: the frame outlives the transport's buffer.
      frames.push(this.buf.slice(at + 4, at + 4 + len))
      at += 4 + len
    }
    this.buf = at === this.buf.byteLength ? new Uint8Array(0) : this.buf.slice(at)
    return frames
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.byteLength + b.byteLength)
  c.set(a)
  c.set(b, a.byteLength)
  return c
}

/**
 * The messages handled lately, by a hash of their bytes, with what was decided: the second copy of
 * a message (live and gossip both carry it) is answered from here instead of being checked again.
 */
export class SeenMessages<V> {
  private readonly seen = new Map<string, V>()
  private readonly max: number

  constructor(max = 8192) {
    this.max = max
  }

  static key(data: Uint8Array): string {
    return sha256(data).toString('base64')
  }

  get(key: string): V | undefined {
    return this.seen.get(key)
  }

  set(key: string, verdict: V): void {
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!)
    this.seen.set(key, verdict)
  }
}
