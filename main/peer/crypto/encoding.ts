/**
 * The byte string every AEAD `aad` and HPKE `info` of this module is built from: a domain tag, then
 * each field, all length-prefixed, so no two different field lists can encode to the same bytes
 * ("ab","c" vs "a","bc"), and a value made for one purpose never verifies for another.
 */

/** The domain tags: one per use of a key, versioned so a later scheme can never be confused with this one. */
export const TAG = {
  content: 'grapevine/content/v1',
  chain: 'grapevine/epoch-chain/v1',
  lockbox: 'grapevine/lockbox/v1',
  subkey: 'grapevine/subkey/v1',
} as const

/** `tag ‖ field…`, each as a 2-byte big-endian length and its UTF-8 bytes. */
export function bind(tag: string, fields: readonly string[]): Uint8Array {
  return extend(new Uint8Array(0), [tag, ...fields])
}

/** `prefix ‖ field…` (fields encoded as in `bind`): lets a caller encode the fields that never change once. */
export function extend(prefix: Uint8Array, fields: readonly string[]): Uint8Array {
  // Buffer.from is Node's native UTF-8 path, several times faster than TextEncoder for short strings.
  const parts = fields.map((f) => Buffer.from(f, 'utf8'))
  let size = prefix.byteLength
  for (const p of parts) {
    // Ids are short; a field this long is a caller's bug, and truncating it would merge contexts.
    if (p.byteLength > 0xffff) throw new RangeError(`a context field is ${p.byteLength} bytes, at most 65535`)
    size += 2 + p.byteLength
  }
  const out = new Uint8Array(size)
  out.set(prefix, 0)
  let at = prefix.byteLength
  for (const p of parts) {
    out[at] = p.byteLength >>> 8
    out[at + 1] = p.byteLength & 0xff
    out.set(p, at + 2)
    at += 2 + p.byteLength
  }
  return out
}
