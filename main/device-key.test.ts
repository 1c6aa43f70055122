/** The device key at rest: sealed with the OS key store, never replaced when it cannot be opened. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeviceKeyError, DeviceKeyStore, SEALED_KEY_FILE, UNSEALED_KEY_FILE, type SafeStorageLike } from './device-key.ts'

// A stand-in key store: reversible, and visibly not the plain text.
const keyStore = (available = true, backend = 'gnome_libsecret'): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (s) => Buffer.from(`sealed:${Buffer.from(s).toString('hex')}`),
  decryptString: (b) => {
    const t = b.toString()
    if (!t.startsWith('sealed:')) throw new Error('bad mac')
    return Buffer.from(t.slice(7), 'hex').toString()
  },
  getSelectedStorageBackend: () => backend,
})

function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gv-key-'))
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }))
}

const KEY = new Uint8Array([8, 1, 18, 64, ...Array.from({ length: 64 }, (_, i) => i)])

test('first run: no key yet; then a key is sealed and comes back identical', () =>
  inTemp(async (dir) => {
    const store = new DeviceKeyStore(dir, keyStore())
    assert.equal(await store.load(), undefined)
    assert.equal(await store.save(KEY), 'sealed')
    const onDisk = readFileSync(join(dir, SEALED_KEY_FILE))
    assert.ok(!onDisk.includes(Buffer.from(KEY).toString('base64')), 'not stored in the clear')
    if (process.platform !== 'win32') assert.equal(statSync(join(dir, SEALED_KEY_FILE)).mode & 0o777, 0o600)
    assert.deepEqual(await store.load(), { key: KEY, upgraded: false })
  }))

test('without a key store the key is kept plain for this user, and sealed once a key store appears', () =>
  inTemp(async (dir) => {
    assert.equal(await new DeviceKeyStore(dir, keyStore(false)).save(KEY), 'unsealed')
    if (process.platform !== 'win32') assert.equal(statSync(join(dir, UNSEALED_KEY_FILE)).mode & 0o777, 0o600)
    assert.deepEqual(await new DeviceKeyStore(dir, keyStore(false)).load(), { key: KEY, upgraded: false })
    assert.deepEqual(await new DeviceKeyStore(dir, keyStore(true)).load(), { key: KEY, upgraded: true })
    assert.equal(existsSync(join(dir, UNSEALED_KEY_FILE)), false, 'the plain copy is gone')
    assert.deepEqual(await new DeviceKeyStore(dir, keyStore(true)).load(), { key: KEY, upgraded: false })
  }))

test("Linux's hard-coded fallback password is reported as weak", () =>
  inTemp(async (dir) => {
    assert.equal(await new DeviceKeyStore(dir, keyStore(true, 'basic_text')).save(KEY), 'sealed-weakly')
  }))

test('a sealed key that cannot be opened is an error, and the file is left untouched', () =>
  inTemp(async (dir) => {
    const file = join(dir, SEALED_KEY_FILE)
    await new DeviceKeyStore(dir, keyStore()).save(KEY)
    await assert.rejects(new DeviceKeyStore(dir, keyStore(false)).load(), DeviceKeyError)
    const store = new DeviceKeyStore(dir, keyStore())
    writeFileSync(file, 'garbage')
    await assert.rejects(store.load(), /could not open/)
    assert.equal(readFileSync(file, 'utf8'), 'garbage')
    writeFileSync(file, '')
    await assert.rejects(store.load(), /damaged/)
    writeFileSync(file, Buffer.alloc(100_000))
    await assert.rejects(store.load(), /damaged/)
  }))

test('the key file is written whole and private even over a looser leftover temp file', { skip: process.platform === 'win32' }, () =>
  inTemp(async (dir) => {
    const file = join(dir, SEALED_KEY_FILE)
    writeFileSync(`${file}.tmp`, 'left by a crash', { mode: 0o644 })
    assert.equal(await new DeviceKeyStore(dir, keyStore()).save(KEY), 'sealed')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(existsSync(`${file}.tmp`), false)
    assert.deepEqual(await new DeviceKeyStore(dir, keyStore()).load(), { key: KEY, upgraded: false })
  }),
)
