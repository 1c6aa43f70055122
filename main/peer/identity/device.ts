/** The device identity: an Ed25519 key pair kept in the profile's store, created on first run. */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { PeerStore } from '../store/types.ts'
import { actorPrefixFor, privateKeyObject } from './keys.ts'
import { fingerprintText } from './words.ts'

/** Seals the private key at rest (the Electron host passes one backed by safeStorage). */
export interface KeyProtector {
  seal(plain: Uint8Array): Uint8Array
  unseal(sealed: Uint8Array): Uint8Array
}

export interface Device {
  privateKey: Ed25519PrivateKey
  signingKey: KeyObject
  peerId: PeerId
  deviceId: string
  publicKey: Uint8Array
  safetyWords: string
  actorPrefix: string
}

const KEY_META = 'device_key'
const SEALED_META = 'device_key_sealed'
const NAME_META = 'device_name'

export async function loadOrCreateDevice(store: PeerStore, protector?: KeyProtector): Promise<Device> {
  let stored = store.getMeta(KEY_META)
  let privateKey: Ed25519PrivateKey
  if (stored === undefined) {
    privateKey = await generateKeyPair('Ed25519')
    const pb = privateKeyToProtobuf(privateKey)
    await store.write(() => {
      store.setMeta(KEY_META, protector ? protector.seal(pb) : pb)
      store.setMeta(SEALED_META, protector ? '1' : '0')
    })
  } else {
    if (store.getMeta(SEALED_META)?.toString() === '1') {
      if (!protector) throw new Error(`The device key in ${store.path} is sealed by the desktop app's key store; open it there.`)
      stored = Buffer.from(protector.unseal(stored))
    }
    const key = privateKeyFromProtobuf(stored)
    if (key.type !== 'Ed25519') throw new Error(`The device key in ${store.path} is not Ed25519`)
    privateKey = key
  }
  const peerId = peerIdFromPrivateKey(privateKey)
  const publicKey = privateKey.publicKey.raw
  return {
    privateKey,
    signingKey: privateKeyObject(privateKey.raw.subarray(0, 32)),
    peerId,
    deviceId: peerId.toString(),
    publicKey,
    safetyWords: fingerprintText(publicKey),
    actorPrefix: actorPrefixFor(publicKey),
  }
}

export function deviceName(store: PeerStore): string {
  return store.getMeta(NAME_META)?.toString('utf8') ?? hostname().slice(0, 64) ?? 'Grapevine device'
}

export async function setDeviceName(store: PeerStore, name: string): Promise<void> {
  await store.write(() => store.setMeta(NAME_META, name))
}

/** A fresh actor id for one writer session of this device. */
export function newActorId(device: Device): string {
  return device.actorPrefix + randomBytes(8).toString('hex')
}
