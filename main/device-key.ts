/**
 * The device's private key at rest, sealed with the OS key store through Electron's `safeStorage`
 * (Keychain, DPAPI, libsecret/kwallet). Main only stores and returns the opaque bytes the peer
 * gave it; they never reach a renderer. `safeStorage` and the file system are parameters for tests.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'

export const SEALED_KEY_FILE = 'device-key.sealed'
const MAX_SEALED_BYTES = 16 * 1024

/** The parts of Electron's `safeStorage` used here. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean
  encryptString(plain: string): Buffer
  decryptString(sealed: Buffer): string
  getSelectedStorageBackend?(): string
}

export interface KeyFileIo {
  /** The file's bytes, or null if it does not exist. */
  read(file: string): Promise<Buffer | null>
  /** Replaces the file atomically, readable by this user only. */
  write(file: string, bytes: Buffer): Promise<void>
}

export const nodeKeyFileIo: KeyFileIo = {
  async read(file) {
    try {
      return await readFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  },
  async write(file, bytes) {
    const tmp = `${file}.tmp`
    await writeFile(tmp, bytes, { mode: 0o600 })
    await rename(tmp, file)
  },
}

/** A sealed key exists but cannot be opened: never start a new identity over it. */
export class DeviceKeyError extends Error {
  override name = 'DeviceKeyError'
}

/** The device key to start the peer with, or undefined on first run (the peer makes one). */
export async function loadDeviceKey(file: string, safe: SafeStorageLike, io: KeyFileIo = nodeKeyFileIo): Promise<Uint8Array | undefined> {
  const sealed = await io.read(file)
  if (sealed === null) return undefined
  if (sealed.byteLength === 0 || sealed.byteLength > MAX_SEALED_BYTES) {
    throw new DeviceKeyError(`${file} is damaged (${sealed.byteLength} bytes). It was left untouched.`)
  }
  if (!safe.isEncryptionAvailable()) {
    throw new DeviceKeyError("This device's key is sealed by the system key store, which is not available now. Unlock it (log in to your desktop session) and start Grapevine again.")
  }
  let key: Buffer
  try {
    key = Buffer.from(safe.decryptString(sealed), 'base64')
  } catch (err) {
    throw new DeviceKeyError(`The system key store could not open ${file}: ${(err as Error).message}. It was left untouched.`)
  }
  if (key.byteLength === 0) throw new DeviceKeyError(`${file} holds no key. It was left untouched.`)
  return new Uint8Array(key)
}

export type SealOutcome = 'sealed' | 'sealed-weakly' | 'unavailable'

/**
 * Seals a new device key. Where the OS offers no key store the key stays in the peer's profile
 * (as with the CLI peer) and the caller logs a warning.
 */
export async function sealDeviceKey(file: string, key: Uint8Array, safe: SafeStorageLike, io: KeyFileIo = nodeKeyFileIo): Promise<SealOutcome> {
  if (!safe.isEncryptionAvailable()) return 'unavailable'
  await io.write(file, safe.encryptString(Buffer.from(key).toString('base64')))
  // On Linux without a secret service, Chromium falls back to a hard-coded password: the file is
  // then obscured, not protected. Say so.
  return safe.getSelectedStorageBackend?.() === 'basic_text' ? 'sealed-weakly' : 'sealed'
}
