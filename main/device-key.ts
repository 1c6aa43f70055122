/**
 * The device's private key at rest, kept by main: sealed with the OS key store through Electron's
 * `safeStorage` (Keychain, DPAPI, libsecret/kwallet) where there is one. The peer hands main a new
 * key and gets it back at every start; its own database keeps only a marker. Main stores opaque
 * bytes and never sends them to a renderer. `safeStorage` and the file system are parameters.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export const SEALED_KEY_FILE = 'device-key.sealed'
/** Where no key store exists (a Linux session without a secret service): plain, this user only. */
export const UNSEALED_KEY_FILE = 'device-key.unsealed'
const MAX_FILE_BYTES = 16 * 1024

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
  remove(file: string): Promise<void>
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
  // Durable before it resolves: main tells the peer the key is kept only after this, and the peer
  // then uses the key and its database stops knowing it, so a power cut must not lose the file.
  async write(file, bytes) {
    const tmp = `${file}.tmp`
    const handle = await open(tmp, 'w', 0o600)
    try {
      // The mode above applies only to a new file; a leftover temp file is made this user's first.
      if (process.platform !== 'win32') await handle.chmod(0o600)
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
    if (process.platform !== 'win32') {
      // The rename is durable once the folder is synced (Windows cannot open a folder for this).
      const dir = await open(dirname(file), 'r')
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    }
  },
  remove: (file) => unlink(file),
}

/** A stored key exists but cannot be opened: never start a new identity over it. */
export class DeviceKeyError extends Error {
  override name = 'DeviceKeyError'
}

export type SealOutcome = 'sealed' | 'sealed-weakly' | 'unsealed'

/** Where main keeps the key, in `dir` (userData). */
export class DeviceKeyStore {
  private readonly sealedFile: string
  private readonly unsealedFile: string
  private readonly safe: SafeStorageLike
  private readonly io: KeyFileIo

  constructor(dir: string, safe: SafeStorageLike, io: KeyFileIo = nodeKeyFileIo) {
    this.sealedFile = join(dir, SEALED_KEY_FILE)
    this.unsealedFile = join(dir, UNSEALED_KEY_FILE)
    this.safe = safe
    this.io = io
  }

  /**
   * The key to start the peer with, or undefined on first run (the peer makes one). A key kept
   * unsealed is sealed as soon as a key store is available.
   */
  async load(): Promise<{ key: Uint8Array; upgraded: boolean } | undefined> {
    const sealed = await this.read(this.sealedFile)
    if (sealed) return { key: this.unseal(sealed), upgraded: false }
    const plain = await this.read(this.unsealedFile)
    if (!plain) return undefined
    if (!this.safe.isEncryptionAvailable()) return { key: new Uint8Array(plain), upgraded: false }
    await this.io.write(this.sealedFile, this.safe.encryptString(plain.toString('base64')))
    await this.io.remove(this.unsealedFile)
    return { key: new Uint8Array(plain), upgraded: true }
  }

  /** Keeps a new key: sealed where possible, else plain in a file only this user can read. */
  async save(key: Uint8Array): Promise<SealOutcome> {
    if (!this.safe.isEncryptionAvailable()) {
      await this.io.write(this.unsealedFile, Buffer.from(key))
      return 'unsealed'
    }
    await this.io.write(this.sealedFile, this.safe.encryptString(Buffer.from(key).toString('base64')))
    // Chromium's fallback on Linux without a secret service is a hard-coded password: the file is
    // then obscured, not protected. Say so.
    return this.safe.getSelectedStorageBackend?.() === 'basic_text' ? 'sealed-weakly' : 'sealed'
  }

  private async read(file: string): Promise<Buffer | null> {
    const bytes = await this.io.read(file)
    if (bytes && (bytes.byteLength === 0 || bytes.byteLength > MAX_FILE_BYTES)) {
      throw new DeviceKeyError(`${file} is damaged (${bytes.byteLength} bytes). It was left untouched.`)
    }
    return bytes
  }

  private unseal(sealed: Buffer): Uint8Array {
    if (!this.safe.isEncryptionAvailable()) {
      throw new DeviceKeyError(
        "This device's key is sealed by the system key store, which is not available now. Unlock it (log in to your desktop session) and start Grapevine again.",
      )
    }
    let key: Buffer
    try {
      key = Buffer.from(this.safe.decryptString(sealed), 'base64')
    } catch (err) {
      throw new DeviceKeyError(`The system key store could not open ${this.sealedFile}: ${(err as Error).message}. It was left untouched.`)
    }
    if (key.byteLength === 0) throw new DeviceKeyError(`${this.sealedFile} holds no key. It was left untouched.`)
    return new Uint8Array(key)
  }
}
