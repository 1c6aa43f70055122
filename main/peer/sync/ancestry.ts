/**
 * What one side of a catch-up session holds of a document, said without sending its history: the
 * heads it holds (whose causal past it holds too) and a have-set, a salted 8-byte digest of each
 * change it holds outside the causal past of a base both sides probably share. A side that does not
 * know the other's heads sends these instead of changes; the other side then sends exactly the changes
 * outside both, so the side that knows less never sends history the other already has
 * (`Documents.missingFor`).
 *
 * The salt is fresh for each set: a member who made two changes whose unsalted digests collide
 * could otherwise hide one of them from every peer that holds the other.
 */
import { createHash, randomBytes } from 'node:crypto'

export const HAVE_DIGEST_BYTES = 8
export const HAVE_SALT_BYTES = 8
/** Changes one have-set names at most (512 KiB); beyond, the rest is sent again, and dropped as duplicates. */
export const MAX_HAVE = 65_536

function digestOf(salt: Uint8Array, hash: string): Buffer {
  return createHash('sha256').update(salt).update(Buffer.from(hash, 'hex')).digest().subarray(0, HAVE_DIGEST_BYTES)
}

/** A have-set as it travels: the salt, and the digests one after another. */
export interface WireHave {
  s: Uint8Array
  d: Uint8Array
}

/** The have-set of these change hashes (at most `MAX_HAVE`: the last ones, the newest in log order). */
export function haveOf(hashes: readonly string[]): WireHave {
  const salt = randomBytes(HAVE_SALT_BYTES)
  const named = hashes.slice(-MAX_HAVE)
  const d = Buffer.allocUnsafe(named.length * HAVE_DIGEST_BYTES)
  named.forEach((h, i) => {
    digestOf(salt, h).copy(d, i * HAVE_DIGEST_BYTES)
  })
  return { s: salt, d }
}

/** A received have-set: whether it names a change. */
export class HaveSet {
  private readonly salt: Uint8Array
  private readonly digests = new Set<bigint>()

  constructor(wire: WireHave) {
    if (wire.s.byteLength !== HAVE_SALT_BYTES) throw new Error(`a have-set's salt is ${HAVE_SALT_BYTES} bytes`)
    if (wire.d.byteLength % HAVE_DIGEST_BYTES !== 0 || wire.d.byteLength > MAX_HAVE * HAVE_DIGEST_BYTES)
      throw new Error(`a have-set is at most ${MAX_HAVE} digests of ${HAVE_DIGEST_BYTES} bytes`)
    this.salt = wire.s
    const d = Buffer.from(wire.d.buffer, wire.d.byteOffset, wire.d.byteLength)
    for (let at = 0; at < d.byteLength; at += HAVE_DIGEST_BYTES) this.digests.add(d.readBigUInt64BE(at))
  }

  get size(): number {
    return this.digests.size
  }

  has(hash: string): boolean {
    return this.digests.has(digestOf(this.salt, hash).readBigUInt64BE(0))
  }
}
