/**
 * The one symmetric primitive of this module: XChaCha20-Poly1305 (@noble/ciphers) with a random
 * 24-byte nonce, laid out as `nonce ‖ ciphertext ‖ tag`. 192-bit random nonces make a collision
 * under one key negligible however many peers seal under it, with no counter to coordinate.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { CryptoError } from './errors.ts'

export const NONCE_BYTES = 24
export const TAG_BYTES = 16
/** What sealing adds to a plaintext: the nonce in front, the Poly1305 tag behind. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES

// Nonces come from a pool refilled by crypto.getRandomValues: one call per 170 nonces instead of one
// each (a call costs as much as a fifth of a keystroke's seal). A nonce is public and needs only to be
// unique; each pool byte is handed out once, as Node's own randomUUID does with its entropy cache.
const pool = new Uint8Array(NONCE_BYTES * 170)
let poolUsed = pool.byteLength

function freshNonce(): Uint8Array {
  if (poolUsed === pool.byteLength) {
    crypto.getRandomValues(pool)
    poolUsed = 0
  }
  const nonce = pool.slice(poolUsed, poolUsed + NONCE_BYTES)
  poolUsed += NONCE_BYTES
  return nonce
}

/** `nonce ‖ ciphertext ‖ tag` of `plaintext` under `key`, authenticating `aad`. */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = freshNonce()
  const out = new Uint8Array(SEAL_OVERHEAD + plaintext.byteLength)
  out.set(nonce, 0)
  xchacha20poly1305(key, nonce, aad).encrypt(plaintext, out.subarray(NONCE_BYTES))
  return out
}

/** The plaintext of `sealed`; 'malformed' when too short to be a box, 'auth-failed' when it does not open. */
export function aeadOpen(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  if (!(sealed instanceof Uint8Array) || sealed.byteLength < SEAL_OVERHEAD) {
    throw new CryptoError('malformed', `${what} is ${sealed?.byteLength ?? 0} bytes, at least ${SEAL_OVERHEAD} expected`)
  }
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), aad).decrypt(sealed.subarray(NONCE_BYTES))
  } catch {
    // noble throws one error for a bad tag; which byte was wrong is not knowable, nor worth telling a sender.
    throw new CryptoError('auth-failed', `${what} does not open with this key and context`)
  }
}
