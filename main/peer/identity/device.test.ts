import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { SqliteStore } from '../store/sqlite-store.ts'
import { inTemp } from '../test/helpers.ts'
import { loadOrCreateDevice, type DeviceKeyVault } from './device.ts'

/** A vault in memory that confirms at once, or when the test says (`hold`), or fails (`fail`). */
const memoryVault = (opts: { hold?: boolean; fail?: string } = {}) => {
  let confirm = (): void => {}
  const v = {
    held: undefined as Uint8Array | undefined,
    saves: 0,
    load: () => v.held,
    save: (pb: Uint8Array) => {
      v.saves++
      if (opts.fail) return Promise.reject(new Error(opts.fail))
      if (!opts.hold) {
        v.held = pb
        return Promise.resolve()
      }
      return new Promise<void>((resolve) => {
        confirm = () => {
          v.held = pb
          resolve()
        }
      })
    },
    confirm: () => confirm(),
  }
  return v satisfies DeviceKeyVault
}

async function withStore<T>(path: string, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const s = new SqliteStore(path)
  try {
    return await fn(s)
  } finally {
    s.close()
  }
}

/** The raw files (database, WAL, shm) that hold the key's protobuf or its 32-byte seed anywhere. */
function filesHoldingKey(db: string, pb: Uint8Array): string[] {
  const seed = privateKeyFromProtobuf(pb).raw.subarray(0, 32)
  return ['', '-wal', '-shm']
    .filter((s) => {
      if (!existsSync(db + s)) return false
      const bytes = readFileSync(db + s)
      return bytes.includes(Buffer.from(pb)) || bytes.includes(Buffer.from(seed))
    })
    .map((s) => `g.db${s}`)
}

const rawMeta = (db: string, key: string): Buffer | undefined => {
  const ro = new Database(db, { readonly: true })
  try {
    return (ro.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: Buffer } | undefined)?.value
  } finally {
    ro.close()
  }
}

/** A key in the database as the CLI keeps it (and as older versions of the app left it), with other data around. */
async function plainProfile(db: string): Promise<{ pb: Uint8Array; deviceId: string }> {
  return withStore(db, async (s) => {
    const d = await loadOrCreateDevice(s)
    for (let i = 0; i < 20; i++) await s.write(() => s.setMeta(`filler${i}`, Buffer.alloc(300, i)))
    return { pb: s.getMeta('device_key')!, deviceId: d.deviceId }
  })
}

test('without a vault the key lives in the database and the identity is stable', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const a = await withStore(db, (s) => loadOrCreateDevice(s))
    const b = await withStore(db, (s) => loadOrCreateDevice(s))
    assert.equal(a.deviceId, b.deviceId)
    assert.match(a.safetyWords, /^[a-z]+(-[a-z]+){5}$/)
    assert.ok((rawMeta(db, 'device_key')?.byteLength ?? 0) > 0, 'the headless design: the key in a private database')
  }))

test('with a vault a new key is written nowhere in the database: not in the file, its WAL or its shm', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const vault = memoryVault()
    await withStore(db, async (s) => {
      const d = await loadOrCreateDevice(s, vault)
      await s.write(() => s.setMeta('more', 'writes after it'))
      assert.equal(vault.saves, 1)
      assert.ok(vault.held)
      assert.deepEqual(filesHoldingKey(db, vault.held), [], 'while open')
      assert.equal(d.deviceId, (await loadOrCreateDevice(s, vault)).deviceId)
    })
    assert.deepEqual(filesHoldingKey(db, vault.held!), [], 'after close')
    assert.equal(rawMeta(db, 'device_key')?.byteLength, 0, 'only the marker')
    await withStore(db, (s) => assert.rejects(loadOrCreateDevice(s), /key store/, 'the CLI does not mint a new identity'))
    await withStore(db, (s) => assert.rejects(loadOrCreateDevice(s, memoryVault()), /key store/, 'nor does an empty vault'))
  }))

test('with a vault the key is used only after the vault confirmed it kept it', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const vault = memoryVault({ hold: true })
    await withStore(db, async (s) => {
      let device: string | undefined
      const loading = loadOrCreateDevice(s, vault).then((d) => {
        device = d.deviceId
      })
      await new Promise((r) => setTimeout(r, 100))
      assert.equal(vault.saves, 1, 'handed to the vault')
      assert.equal(device, undefined, 'no identity before the confirmation')
      assert.equal(s.getMeta('device_key'), undefined, 'and nothing in the database: not the key, not the marker')
      vault.confirm()
      await loading
      assert.ok(device)
      assert.equal(s.getMeta('device_key')?.byteLength, 0, 'the marker once it is kept')
    })
  }))

test('a vault that cannot keep a new key: a clear error, no key and no marker in the database', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const vault = memoryVault({ fail: 'disk full' })
    let pb: Uint8Array | undefined
    const spy = {
      load: () => undefined,
      save: (k: Uint8Array) => {
        pb = k
        return vault.save(k)
      },
    }
    await withStore(db, (s) =>
      assert.rejects(loadOrCreateDevice(s, spy), /could not be kept in the system key store: disk full.*did not start/),
    )
    assert.ok(pb)
    assert.deepEqual(filesHoldingKey(db, pb), [])
    assert.equal(rawMeta(db, 'device_key'), undefined)
    // The next start makes a new one: nobody ever saw the first.
    const ok = memoryVault()
    await withStore(db, (s) => loadOrCreateDevice(s, ok))
    assert.notDeepEqual(ok.held, pb)
  }))

test('a crash after the vault kept a new key but before the database marked it: the same key next time', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const vault = memoryVault()
    const first = await withStore(db, (s) => loadOrCreateDevice(s, vault))
    // As if the crash came before the marker: the vault has the key, the database knows nothing.
    new SqliteStore(join(dir, 'other.db')).close()
    const again = await withStore(join(dir, 'other.db'), (s) => loadOrCreateDevice(s, vault))
    assert.equal(again.deviceId, first.deviceId)
    assert.equal(vault.saves, 1, 'not handed over again')
    assert.equal(rawMeta(join(dir, 'other.db'), 'device_key')?.byteLength, 0)
  }))

test('an old profile with a plain key: moved to the vault, then erased from the file, WAL and shm once kept', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const { pb, deviceId } = await plainProfile(db)
    assert.deepEqual(filesHoldingKey(db, pb), ['g.db'], 'the test starts with the key in the file')
    const vault = memoryVault({ hold: true })
    await withStore(db, async (s) => {
      const loading = loadOrCreateDevice(s, vault)
      await new Promise((r) => setTimeout(r, 100))
      assert.deepEqual(s.getMeta('device_key'), Buffer.from(pb), 'kept in the database until the vault confirms')
      vault.confirm()
      assert.equal((await loading).deviceId, deviceId, 'the same identity')
      assert.deepEqual(filesHoldingKey(db, pb), [], 'while open')
      assert.equal(s.getMeta('filler19')?.byteLength, 300, 'the rest of the data is intact')
    })
    assert.deepEqual(vault.held, pb)
    assert.deepEqual(filesHoldingKey(db, pb), [], 'after close')
    assert.equal((await withStore(db, (s) => loadOrCreateDevice(s, vault))).deviceId, deviceId)
    assert.equal(vault.saves, 1)
  }))

test('an old profile whose key an older app replaced by the marker without erasing it: erased at the next start', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const { pb, deviceId } = await plainProfile(db)
    // What the previous version did: a plain overwrite, which leaves the old page image in the file.
    await withStore(db, (s) => s.write(() => s.setMeta('device_key', new Uint8Array())))
    assert.ok(filesHoldingKey(db, pb).length > 0, 'the test starts with the bytes still in the files')
    const vault = memoryVault()
    vault.held = pb
    assert.equal((await withStore(db, (s) => loadOrCreateDevice(s, vault))).deviceId, deviceId)
    assert.deepEqual(filesHoldingKey(db, pb), [])
    assert.equal(vault.saves, 0, 'the vault had it already')
    assert.equal(rawMeta(db, 'device_key_scrubbed')?.toString(), '1', 'erased once, not at every start')
  }))

test('an old profile whose key the vault cannot take: a clear error, and the key stays in the database', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const { pb, deviceId } = await plainProfile(db)
    await withStore(db, (s) =>
      assert.rejects(loadOrCreateDevice(s, memoryVault({ fail: 'no space' })), /could not be moved .*no space.*stays in the database/),
    )
    assert.deepEqual(rawMeta(db, 'device_key'), Buffer.from(pb), 'the identity is not lost')
    assert.equal((await withStore(db, (s) => loadOrCreateDevice(s))).deviceId, deviceId)
  }))

test('a crash between the vault confirming and the erasure: the plain copy is erased at the next start', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const { pb, deviceId } = await plainProfile(db)
    const vault = memoryVault()
    vault.held = pb // confirmed, but the peer died before it erased its copy
    assert.equal((await withStore(db, (s) => loadOrCreateDevice(s, vault))).deviceId, deviceId)
    assert.equal(vault.saves, 0)
    assert.deepEqual(filesHoldingKey(db, pb), [])
  }))

test('a database and a vault holding two different keys: refused, nothing changed', () =>
  inTemp(async (dir) => {
    const db = join(dir, 'g.db')
    const { pb } = await plainProfile(db)
    const vault = memoryVault()
    await withStore(join(dir, 'other.db'), (s) => loadOrCreateDevice(s, vault))
    const theirs = vault.held
    await withStore(db, (s) =>
      assert.rejects(loadOrCreateDevice(s, vault), /holds the key of device .* but the desktop app's key store holds/),
    )
    assert.deepEqual(rawMeta(db, 'device_key'), Buffer.from(pb))
    assert.equal(vault.held, theirs)
  }))
