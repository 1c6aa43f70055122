/**
 * What the peer's checks read of one Automerge change: its hash, deps, actor and time, whether it has
 * operations, and, for a small change, what its operations do (change-effect.ts `opsEffect`).
 *
 * A small change (a keystroke, a frame of typing) is decoded with `A.decodeChange`. A large one (a
 * paste, a long text set at once) has only its header read, and its hash computed as Automerge
 * computes it: SHA-256 of the chunk after its magic bytes and checksum (the checksum being that hash's
 * first 4 bytes). Decoding turns every operation into a JavaScript object: 240–640 ms for the 32,768
 * operations of one of `setText`'s steps on this machine, on the author's peer and again on every
 * teammate's, where reading the header and hashing take about a millisecond. A 300 KiB text kept a
 * peer's event loop busy for over 10 s, long enough for its connections' stream opens to time out.
 *
 * What a large change's operations hold is checked when it is applied: one that does not apply is left
 * out and removed from the log (quarantine.ts), as a small one that decodes and does not apply is.
 * Only an uncompressed change chunk (type 1, what Automerge makes for a change) is read this way; any
 * other is decoded. The layout is Automerge's binary format: `automerge/rust/automerge/src/storage/
 * chunk.rs` and `storage/change.rs` (header: deps, actor, seq, start op, time, message, other actors).
 */
import * as A from '@automerge/automerge'
import { sha256 } from '../identity/keys.ts'
import { opsEffect, type OpsEffect } from './change-effect.ts'

/** Changes of at least this many bytes have their header read instead of being decoded. */
export const DECODE_BELOW_BYTES = 16 * 1024

export interface ChangeRead {
  hash: string
  /** As Automerge orders them (sorted). */
  deps: string[]
  actor: string
  seq: number
  /** Seconds since the epoch, as the author's clock said. */
  time: number
  /** No operations. A change read by its header counts as not empty. */
  empty: boolean
  /** What its operations do, when decoded and they all edit one object. */
  effect?: OpsEffect
}

/** A change that is not one: the message says why. */
export class ChangeFormatError extends Error {}

/** Reads `bytes` as one Automerge change (see the module comment); throws ChangeFormatError if it is not one. */
export function readChange(bytes: Uint8Array): ChangeRead {
  if (bytes.byteLength >= DECODE_BELOW_BYTES && bytes[8] === CHANGE_CHUNK) return readHeader(bytes)
  let decoded: A.DecodedChange
  try {
    decoded = A.decodeChange(bytes)
  } catch (err) {
    throw new ChangeFormatError((err as Error).message)
  }
  const { hash, deps, actor, seq, time } = decoded
  const effect = opsEffect(decoded)
  return { hash, deps, actor, seq, time, empty: decoded.ops.length === 0, ...(effect ? { effect } : {}) }
}

const MAGIC = [0x85, 0x6f, 0x4a, 0x83]
const CHANGE_CHUNK = 1
/** Automerge's actor ids are at most this long (bytes); ours are 24. */
const MAX_ACTOR_BYTES = 64

/** The header of an uncompressed change chunk, and its hash; throws ChangeFormatError if the chunk is malformed. */
export function readHeader(bytes: Uint8Array): ChangeRead {
  const r = new Reader(bytes)
  for (const m of MAGIC) if (r.byte() !== m) throw new ChangeFormatError('not an Automerge chunk (magic bytes)')
  const checksum = bytes.subarray(4, 8)
  r.at = 8
  if (r.byte() !== CHANGE_CHUNK) throw new ChangeFormatError('not an uncompressed change chunk')
  const length = r.uint()
  if (r.at + length !== bytes.byteLength)
    throw new ChangeFormatError(`the chunk says ${length} bytes and ${bytes.byteLength - r.at} follow its header`)
  const hash = sha256(bytes.subarray(8))
  if (!hash.subarray(0, 4).equals(checksum)) throw new ChangeFormatError('its checksum does not match its contents')
  const deps: string[] = []
  for (let n = r.uint(); n > 0; n--) deps.push(r.hex(32))
  const actorLength = r.uint()
  if (actorLength === 0 || actorLength > MAX_ACTOR_BYTES) throw new ChangeFormatError(`an actor id of ${actorLength} bytes`)
  const actor = r.hex(actorLength)
  const seq = r.uint()
  r.uint() // start op
  const time = r.int()
  r.skip(r.uint()) // message
  return { hash: hash.toString('hex'), deps, actor, seq, time, empty: false }
}

/** LEB128 integers and byte runs, bounds-checked, over one chunk. */
class Reader {
  at = 0
  private readonly bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }

  byte(): number {
    if (this.at >= this.bytes.byteLength) throw new ChangeFormatError('the chunk ends inside its header')
    return this.bytes[this.at++]!
  }

  /** Unsigned LEB128, at most 2^53 - 1. */
  uint(): number {
    let value = 0
    for (let shift = 0; shift < 53; shift += 7) {
      const b = this.byte()
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) break
        return value
      }
    }
    throw new ChangeFormatError('an integer in its header is too large')
  }

  /** Signed LEB128, within ±2^53. */
  int(): number {
    let value = 0
    for (let shift = 0; shift < 56; shift += 7) {
      const b = this.byte()
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (b & 0x40) value -= 2 ** (shift + 7)
        if (!Number.isSafeInteger(value)) break
        return value
      }
    }
    throw new ChangeFormatError('an integer in its header is too large')
  }

  hex(n: number): string {
    return Buffer.from(this.take(n)).toString('hex')
  }

  skip(n: number): void {
    this.take(n)
  }

  private take(n: number): Uint8Array {
    if (this.at + n > this.bytes.byteLength) throw new ChangeFormatError('the chunk ends inside its header')
    const out = this.bytes.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
}
