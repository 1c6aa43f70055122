/** The device identity: an Ed25519 key pair, created on first run, kept in the profile's store or (desktop app) only in a key vault. */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Durable, MetaStore, PeerStore } from '../store/types.ts'
import { actorPrefixFor, privateKeyObject } from './keys.ts'
import { fingerprintText } from './words.ts'

/**
 * Keeps the private key outside the profile database. The desktop app passes one backed by the OS
 * key store (Electron's safeStorage, in the main process): then the key is never written in plain.
 */
export interface DeviceKeyVault {
  /** The key's protobuf bytes, if the vault holds one. */
  load(): Uint8Array | undefined
  /**
   * Keeps a key (a new one, or one moved out of the database). Resolves only once the key is sealed
   * and written where the vault keeps it; rejects, with the reason, when it could not be kept.
   */
  save(protobuf: Uint8Array): Promise<void>
}

/** The store, and a way to erase a secret from its files, not only from its rows (SqliteStore). */
export type IdentityStore = PeerStore & { eraseSecretly(fn: () => void): void }

export interface Device {
  privateKey: Ed25519PrivateKey
  signingKey: KeyObject
  peerId: PeerId
  deviceId: string
  publicKey: Uint8Array
  safetyWords: string
  actorPrefix: string
}

/**
 * Absent: no identity yet. Non-empty: the key itself (the CLI's profiles, and profiles of older
 * versions of the app). Empty: the key is in the vault, and this profile must not make another.
 */
const KEY_META = 'device_key'
/** Set once no copy of a plain key can be left in the database's files (see eraseSecretly). */
const SCRUBBED_META = 'device_key_scrubbed'
const NAME_META = 'device_name'

/**
 * The device's identity. Without a vault (the CLI, headless) the key lives in the database, which
 * only this OS user can read (a 0600 file in a 0700 folder). With a vault the database never holds
 * it: a new key goes to the vault first, and this resolves only after the vault confirmed it kept
 * it, so nothing uses a key (no PeerId announced, no signature made) that a crash could lose. A key
 * the database already holds goes to the vault too, and is erased from the files once it is kept.
 */
export async function loadOrCreateDevice(store: IdentityStore, vault?: DeviceKeyVault): Promise<Device> {
  const inStore = store.getMeta(KEY_META)
  let pb: Uint8Array
  if (!vault) {
    if (inStore?.byteLength === 0) {
      // The key was moved to a vault that cannot give it here: never silently become another device.
      throw new Error(`The device key of ${store.path} is kept in the desktop app's key store, which cannot provide it here.`)
    }
    pb = inStore ?? privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    if (!inStore) await store.write(() => store.setMeta(KEY_META, pb))
  } else if (inStore && inStore.byteLength > 0) {
    // A plain key in the database: a profile of an older version, or a crash between the vault's
    // confirmation and the erasure. It goes to the vault unless the vault has it already, and is
    // erased from the files once it is kept there.
    pb = inStore
    parseKey(pb, store.path) // a damaged key must not reach the vault
    const inVault = vault.load()
    if (inVault && !Buffer.from(inVault).equals(inStore)) {
      // Only a moved or copied profile folder gets here. Either key may be one teammates know.
      throw new Error(
        `The database ${store.path} holds the key of device ${deviceIdOf(inStore)}, but the desktop app's key ` +
          `store holds the key of device ${deviceIdOf(inVault)}. Nothing was changed; move the profile folder or the key file away.`,
      )
    }
    if (!inVault) {
      await keep(
        vault,
        pb,
        `The device key of ${store.path} could not be moved into the system key store`,
        'It stays in the database for now, and the peer did not start; start Grapevine again to retry.',
      )
    }
    await eraseKey(store)
  } else if (inStore) {
    const inVault = vault.load()
    if (!inVault) throw new Error(`The device key of ${store.path} is kept in the desktop app's key store, which cannot provide it now.`)
    pb = inVault
    parseKey(pb, store.path)
    // An older version left the key's bytes in the file's free space when it put the marker in.
    if (store.getMeta(SCRUBBED_META) === undefined) await eraseKey(store)
  } else {
    // No identity in the database. A key already in the vault was kept there before a crash cut
    // this start short (or the database was deleted): nobody can know a key whose start did not
    // finish, and reusing it is as good as a new one.
    const inVault = vault.load()
    pb = inVault ?? privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    parseKey(pb, store.path) // before anything is written: a damaged key must not become the identity
    if (!inVault) {
      await keep(
        vault,
        pb,
        'A new device key could not be kept in the system key store',
        'The peer did not start and kept the key nowhere, so no identity was lost; start Grapevine again to retry.',
      )
    }
    await store.write(() => {
      store.setMeta(KEY_META, new Uint8Array())
      store.setMeta(SCRUBBED_META, '1')
    })
  }
  return deviceFromKey(parseKey(pb, store.path))
}

/** The device a private key is: its PeerId, ids and the keys it signs with. */
export function deviceFromKey(privateKey: Ed25519PrivateKey): Device {
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

function parseKey(pb: Uint8Array, path: string): Ed25519PrivateKey {
  const key = privateKeyFromProtobuf(pb)
  if (key.type !== 'Ed25519') throw new Error(`The device key of ${path} is not Ed25519`)
  return key
}

function deviceIdOf(pb: Uint8Array): string {
  try {
    return peerIdFromPrivateKey(privateKeyFromProtobuf(pb)).toString()
  } catch {
    return '(unreadable)'
  }
}

async function keep(vault: DeviceKeyVault, pb: Uint8Array, what: string, then: string): Promise<void> {
  try {
    await vault.save(pb)
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}. ${then}`, { cause: err })
  }
}

/** Replaces the plain key by the marker, and erases its bytes from the database's files. */
async function eraseKey(store: IdentityStore): Promise<void> {
  store.eraseSecretly(() => store.setMeta(KEY_META, new Uint8Array()))
  // Until this commits, a crash only means the next start erases again.
  await store.write(() => store.setMeta(SCRUBBED_META, '1'))
}

export function deviceName(store: MetaStore): string {
  return store.getMeta(NAME_META)?.toString('utf8') ?? hostname().slice(0, 64) ?? 'Grapevine device'
}

export async function setDeviceName(store: Durable & MetaStore, name: string): Promise<void> {
  await store.write(() => store.setMeta(NAME_META, name))
}

/** A fresh actor id for one writer session of this device. */
export function newActorId(device: Device): string {
  return device.actorPrefix + randomBytes(8).toString('hex')
}
