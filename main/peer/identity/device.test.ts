import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { SqliteStore } from '../store/sqlite-store.ts'
import { inTemp } from '../test/helpers.ts'
import { loadOrCreateDevice, type DeviceKeyVault } from './device.ts'

const memoryVault = (): DeviceKeyVault & { held?: Uint8Array } => {
  const v: DeviceKeyVault & { held?: Uint8Array } = { load: () => v.held, save: (pb) => { v.held = pb; return true } }
  return v
}

async function withStore<T>(path: string, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const s = new SqliteStore(path)
  try {
    return await fn(s)
  } finally {
    s.close()
  }
}

test('without a vault the key lives in the database and the identity is stable', () => inTemp(async (dir) => {
  const db = join(dir, 'g.db')
  const a = await withStore(db, (s) => loadOrCreateDevice(s))
  const b = await withStore(db, (s) => loadOrCreateDevice(s))
  assert.equal(a.deviceId, b.deviceId)
  assert.match(a.safetyWords, /^[a-z]+(-[a-z]+){5}$/)
}))

test('with a vault the key never stays in the database, and an existing one moves into the vault', () => inTemp(async (dir) => {
  const db = join(dir, 'g.db')
  const first = await withStore(db, (s) => loadOrCreateDevice(s)) // made by the CLI, in the database
  const vault = memoryVault()
  const moved = await withStore(db, (s) => loadOrCreateDevice(s, vault))
  assert.equal(moved.deviceId, first.deviceId)
  assert.ok(vault.held && vault.held.byteLength > 0)
  await withStore(db, async (s) => assert.equal(s.getMeta('device_key')?.byteLength, 0, 'no plain copy left'))
  const again = await withStore(db, (s) => loadOrCreateDevice(s, vault))
  assert.equal(again.deviceId, first.deviceId)
  // The vault cannot give the key (another machine, a reset key store): a clear error, not a new identity.
  await withStore(db, (s) => assert.rejects(loadOrCreateDevice(s), /key store/))
  await withStore(db, (s) => assert.rejects(loadOrCreateDevice(s, memoryVault()), /key store/))
}))

test('a new profile with a vault keeps its new key only in the vault', () => inTemp(async (dir) => {
  const vault = memoryVault()
  const d = await withStore(join(dir, 'g.db'), (s) => loadOrCreateDevice(s, vault))
  assert.ok(vault.held)
  await withStore(join(dir, 'g.db'), async (s) => assert.equal(s.getMeta('device_key')?.byteLength, 0, 'a marker, no key'))
  assert.equal((await withStore(join(dir, 'g.db'), (s) => loadOrCreateDevice(s, vault))).deviceId, d.deviceId)
  await withStore(join(dir, 'g.db'), (s) => assert.rejects(loadOrCreateDevice(s), /key store/, 'the CLI does not mint a new identity'))
}))

test('until the vault confirms it kept a new key, the database keeps its copy (no lost identity in a crash)', () => inTemp(async (dir) => {
  const db = join(dir, 'g.db')
  let held: Uint8Array | undefined
  const forgetful: DeviceKeyVault = { load: () => undefined, save: (pb) => { held = pb; return false } }
  const d = await withStore(db, (s) => loadOrCreateDevice(s, forgetful))
  await withStore(db, async (s) => assert.ok((s.getMeta('device_key')?.byteLength ?? 0) > 0, 'plain copy kept'))
  // Next start: the vault has it after all, so the plain copy goes.
  const vault: DeviceKeyVault = { load: () => held, save: () => true }
  assert.equal((await withStore(db, (s) => loadOrCreateDevice(s, vault))).deviceId, d.deviceId)
  await withStore(db, async (s) => assert.equal(s.getMeta('device_key')?.byteLength, 0))
}))
