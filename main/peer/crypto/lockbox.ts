/**
 * Lockboxes: how an epoch key reaches one member device. A device's lockbox key pair is its Ed25519
 * identity key mapped to X25519 (the birational map, as libsodium's ed25519→curve25519), so any
 * member's lockbox public key follows from its PeerId and there is no second key to publish, sign or
 * rotate. The box is HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256) + ChaCha20-Poly1305,
 * with `info` binding workspace, epoch and recipient. The box says nothing about who sealed it: the
 * membership op that carries it is signed, and that signature is the sender's authentication.
 */

import { createPublicKey } from 'node:crypto'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import { CipherSuite, HkdfSha256 } from '@hpke/core'
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { Device } from '../identity/device.ts'
import { devicePublicKey, privateKeyObject } from '../identity/keys.ts'
import { bind, TAG } from './encoding.ts'
import { EPOCH_KEY_BYTES, type EpochKey } from './epoch.ts'
import { CryptoError } from './errors.ts'

const ENC_BYTES = 32
const HPKE_TAG_BYTES = 16
/** The fixed size of a lockbox: HPKE's encapsulated key, then the sealed 32-byte epoch key and its tag. */
export const LOCKBOX_BYTES = ENC_BYTES + EPOCH_KEY_BYTES + HPKE_TAG_BYTES

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })

/** The part of a Device a lockbox needs: its id and its Ed25519 private key (`raw` is seed ‖ public). */
export type LockboxOwner = Pick<Device, 'deviceId' | 'privateKey'>

/** Which workspace and epoch a lockbox is for; the recipient is bound too (the device id sealed to / opening). */
export interface LockboxContext {
  readonly workspaceId: string
  readonly epochId: string
}

const lockboxInfo = (ctx: LockboxContext, recipientId: string): Uint8Array => bind(TAG.lockbox, [ctx.workspaceId, ctx.epochId, recipientId])

/** The X25519 public key a device's lockboxes are sealed to, from its device id; 'malformed' if it has none. */
export function lockboxPublicKey(deviceId: string): Uint8Array {
  const ed = devicePublicKey(deviceId)?.raw
  if (!ed) throw new CryptoError('malformed', `device id ${deviceId} carries no Ed25519 key`)
  try {
    // A small-order point would make every DH result public (or zero): such an id can hold no secret.
    if (ed25519.Point.fromBytes(ed).isSmallOrder()) throw new Error('small order')
    return ed25519.utils.toMontgomery(ed)
  } catch {
    throw new CryptoError('malformed', `the key of device ${deviceId} is not usable for lockboxes`)
  }
}

/** The device's own lockbox key pair (raw X25519 bytes), from its Ed25519 seed. */
export function lockboxKeyPair(device: LockboxOwner): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const seed = device.privateKey.raw.subarray(0, 32)
  // The Ed25519 public key of the seed by node:crypto (OpenSSL): noble's getPublicKey builds its base-point
  // table on first use, 45–50 ms of every start-up (the W3 cold-open profile).
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' })
  const publicKey = ed25519.utils.toMontgomery(new Uint8Array(spki.subarray(spki.byteLength - 32)))
  return { publicKey, secretKey: ed25519.utils.toMontgomerySecret(seed) }
}

type RecipientKey = Awaited<ReturnType<typeof suite.kem.importKey>>
const recipientKeys = new WeakMap<LockboxOwner, Promise<RecipientKey>>()

async function importRecipientKey(device: LockboxOwner): Promise<RecipientKey> {
  const { publicKey, secretKey } = lockboxKeyPair(device)
  const expected = lockboxPublicKey(device.deviceId)
  // The id and the key travel separately in a Device; a mismatch would open nothing, so say why now.
  if (!publicKey.every((b, i) => b === expected[i])) throw new RangeError(`the private key given is not ${device.deviceId}'s`)
  return suite.kem.importKey('raw', secretKey.slice().buffer, false)
}

/** Seals the epoch key to one device: `enc(32) ‖ ct(32) ‖ tag(16)`, openable only by that device, for that workspace and epoch. */
export async function sealTo(recipientDeviceId: string, epoch: EpochKey): Promise<Uint8Array> {
  if (epoch.key.byteLength !== EPOCH_KEY_BYTES) throw new RangeError(`an epoch key is ${EPOCH_KEY_BYTES} bytes`)
  const recipientPublicKey = await suite.kem.deserializePublicKey(lockboxPublicKey(recipientDeviceId))
  const { enc, ct } = await suite.seal({ recipientPublicKey, info: lockboxInfo(epoch, recipientDeviceId) }, epoch.key)
  const box = new Uint8Array(LOCKBOX_BYTES)
  box.set(new Uint8Array(enc), 0)
  box.set(new Uint8Array(ct), ENC_BYTES)
  return box
}

/** The epoch key in a lockbox sealed to `device` for `ctx`; 'malformed' (size) or 'auth-failed' (anyone else's, or altered). */
export async function openLockbox(device: LockboxOwner, box: Uint8Array, ctx: LockboxContext): Promise<EpochKey> {
  if (!(box instanceof Uint8Array) || box.byteLength !== LOCKBOX_BYTES) {
    throw new CryptoError('malformed', `a lockbox is ${box?.byteLength ?? 0} bytes, ${LOCKBOX_BYTES} expected`)
  }
  let recipientKey = recipientKeys.get(device)
  if (!recipientKey) {
    recipientKey = importRecipientKey(device)
    recipientKeys.set(device, recipientKey)
    recipientKey.catch(() => recipientKeys.delete(device))
  }
  const key = await recipientKey
  const params = { recipientKey: key, enc: box.subarray(0, ENC_BYTES), info: lockboxInfo(ctx, device.deviceId) }
  let plain: ArrayBuffer
  try {
    plain = await suite.open(params, box.subarray(ENC_BYTES))
  } catch {
    // HPKE fails alike for another recipient, context, a low-order `enc` or a flipped bit: none is knowable apart.
    throw new CryptoError('auth-failed', `the lockbox does not open for device ${device.deviceId} in epoch ${ctx.epochId}`)
  }
  return { workspaceId: ctx.workspaceId, epochId: ctx.epochId, key: new Uint8Array(plain) }
}
