/**
 * Ed25519 signing with node:crypto, on the same key as the device's libp2p identity.
 * Every signed payload starts with a domain tag so a signature cannot be replayed in another role.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export function privateKeyObject(seed32: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed32]), format: 'der', type: 'pkcs8' })
}

const publicKeys = new Map<string, { raw: Uint8Array; key: KeyObject } | null>()

/** The Ed25519 public key inside a device id (an Ed25519 libp2p PeerId), or null if it has none. */
export function devicePublicKey(deviceId: string): { raw: Uint8Array; key: KeyObject } | null {
  let entry = publicKeys.get(deviceId)
  if (entry !== undefined) return entry
  try {
    const pid = peerIdFromString(deviceId)
    const raw = pid.type === 'Ed25519' ? pid.publicKey.raw : null
    entry = raw ? { raw, key: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }) } : null
  } catch {
    entry = null
  }
  if (publicKeys.size > 10_000) publicKeys.clear()
  publicKeys.set(deviceId, entry)
  return entry
}

export function signPayload(key: KeyObject, payload: Uint8Array): Uint8Array {
  return sign(null, payload, key)
}

export function verifyPayload(deviceId: string, payload: Uint8Array, signature: Uint8Array): boolean {
  const pub = devicePublicKey(deviceId)
  if (pub === null || signature.byteLength !== 64) return false
  try {
    return verify(null, payload, pub.key, signature)
  } catch {
    return false
  }
}

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest()
}

/**
 * The first half of every Automerge actor id this device writes with: a hash of its public key.
 * The second half is random per session, so two windows on one device never reuse an actor.
 */
export function actorPrefixFor(publicKeyRaw: Uint8Array): string {
  return sha256(publicKeyRaw).subarray(0, 16).toString('hex')
}

/** True when the Automerge actor id belongs to the device. */
export function actorBelongsTo(actor: string, deviceId: string): boolean {
  const pub = devicePublicKey(deviceId)
  return pub !== null && actor.length === 48 && actor.startsWith(actorPrefixFor(pub.raw))
}
