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

/**
 * Keeps the private key outside the profile database. The desktop app passes one backed by the OS
 * key store (Electron's safeStorage, in the main process): then the key is never written in plain.
 */
export interface DeviceKeyVault {
  /** The key's protobuf bytes, if the vault holds one. */
  load(): Uint8Array | undefined
  /** Keeps a key (a new one, or one moved out of the database); resolves true once it is kept. */
  save(protobuf: Uint8Array): Promise<boolean> | boolean
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
const NAME_META = 'device_name'

export async function loadOrCreateDevice(store: PeerStore, vault?: DeviceKeyVault): Promise<Device> {
  const inStore = store.getMeta(KEY_META)
  const inVault = vault?.load()
  let pb: Uint8Array
  if (inVault) {
    pb = inVault
  } else if (inStore && inStore.byteLength > 0) {
    pb = inStore
  } else if (inStore) {
    // The key was moved to a vault that cannot give it now: never silently become another device.
    throw new Error(`The device key of ${store.path} is kept in the desktop app's key store, which cannot provide it here.`)
  } else {
    pb = privateKeyToProtobuf(await generateKeyPair('Ed25519'))
  }
  if (!inStore && !inVault) await store.write(() => store.setMeta(KEY_META, pb))
  // With a vault the database keeps only an empty marker, once the vault confirms it holds the key:
  // a crash before that leaves the plain copy, which the next start moves again.
  if (vault && (inVault || await vault.save(pb)) && (inStore === undefined || inStore.byteLength > 0)) {
    await store.write(() => store.setMeta(KEY_META, new Uint8Array()))
  }
  const key = privateKeyFromProtobuf(pb)
  if (key.type !== 'Ed25519') throw new Error(`The device key of ${store.path} is not Ed25519`)
  const privateKey: Ed25519PrivateKey = key
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
