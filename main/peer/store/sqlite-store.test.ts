import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { inTemp } from '../test/helpers.ts'
import { StoreError } from './errors.ts'
import { MIGRATIONS } from './migrations.ts'
import { SqliteStore } from './sqlite-store.ts'
import { runPeerStoreContract } from './store-contract.ts'

runPeerStoreContract('SqliteStore', (path) => new SqliteStore(path))

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Deterministic "random" bytes: a SHA-256 counter stream. */
function garbage(length: number, seed: string): Buffer {
  const blocks: Buffer[] = []
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest())
  return Buffer.concat(blocks).subarray(0, length)
}

/** Asserts that opening `path` throws a StoreError of `kind` naming the file, leaving it byte-for-byte as it was. */
function assertRefused(path: string, kind: StoreError['kind']): StoreError {
  const before = sha(path)
  let caught: unknown
  try {
    new SqliteStore(path).close()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof StoreError, `expected a StoreError, got ${String(caught)}`)
  assert.equal(caught.kind, kind)
  assert.equal(caught.path, path)
  assert.ok(caught.message.includes(path), `message names the file: ${caught.message}`)
  assert.equal(sha(path), before, 'the file was not modified')
  assert.equal(existsSync(`${path}-wal`), false, 'no -wal file left next to it')
  assert.equal(existsSync(`${path}-shm`), false, 'no -shm file left next to it')
  return caught
}

/** Waits until a write to `path` would change its time of change (file systems keep it in ticks of a few ms). */
async function laterThanClose(path: string): Promise<void> {
  const closedAt = statSync(path, { bigint: true }).mtimeNs
  await new Promise((r) => setTimeout(r, 30))
  assert.ok(BigInt(Date.now()) * 1_000_000n > closedAt, 'the clock moved on since the close')
}

function assertFreshSchema(path: string): void {
  const store = new SqliteStore(path)
  try {
    assert.equal(store.schemaVersion, MIGRATIONS.length)
    // synchronous is per connection: ask the store's own connection.
    const own = (store as unknown as { db: Database.Database }).db
    // Commits hand frames to the OS; the store syncs the WAL itself, off the thread (see the tests below).
    assert.equal(own.pragma('synchronous', { simple: true }), 0, 'synchronous = OFF')
    assert.equal(own.pragma('wal_autocheckpoint', { simple: true }), 0, 'no automatic checkpoint (it would run with OFF)')
    assert.equal(own.pragma('journal_mode', { simple: true }), 'wal')
  } finally {
    store.close()
  }
  // journal_mode=WAL and user_version are persistent: a second, read-only connection sees them.
  const ro = new Database(path, { readonly: true, fileMustExist: true })
  try {
    assert.equal(ro.pragma('journal_mode', { simple: true }), 'wal')
    assert.equal(ro.pragma('user_version', { simple: true }), MIGRATIONS.length)
    const tables = (ro.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name)
    for (const t of ['meta', 'workspaces', 'membership_ops', 'members', 'documents', 'changes', 'snapshots', 'invites', 'peers']) {
      assert.ok(tables.includes(t), `table ${t} exists`)
    }
  } finally {
    ro.close()
  }
}

test('a missing file is created with the full schema, in WAL mode, its commits synced by the store', () =>
  inTemp((dir) => {
    assertFreshSchema(join(dir, 'new.db'))
  }))

test('an empty (0-byte) file is migrated to the full schema', () =>
  inTemp((dir) => {
    const path = join(dir, 'empty.db')
    writeFileSync(path, '')
    assertFreshSchema(path)
  }))

test('a write resolves only after an fsync of the WAL that began after its commit, and the fsync does not hold the event loop', () =>
  inTemp(async (dir) => {
    const store = new SqliteStore(join(dir, 'sync.db'))
    try {
      for (let i = 0; i < 20; i++) {
        const before = store.syncs
        let laterImmediate = false
        const w = store.write(() => store.setMeta(`k${i}`, 'v'))
        // Scheduled after the commit's own setImmediate: with the fsync on the thread it would run
        // only after the write resolved; with the fsync on the pool it runs before.
        setImmediate(() => {
          laterImmediate = true
        })
        await w
        assert.ok(store.syncs > before, `write ${i} resolved after an fsync (${before} → ${store.syncs})`)
        assert.equal(laterImmediate, true, `write ${i}: the event loop ran on while its fsync was pending`)
      }
    } finally {
      store.close()
    }
  }))

test('writes issued while an fsync runs commit together once it returns, each resolving after an fsync that covers it; close commits them at once', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'group.db')
    const store = new SqliteStore(path)
    try {
      await store.write(() => store.setMeta('warm', 'v')) // the WAL exists: the next commit's fsync runs on the pool
      const commits = store.commits
      const syncs = store.syncs
      const first = store.writeNow(() => store.setMeta('a', '1'))
      assert.equal(store.commits, commits + 1, 'the first write commits at once')
      const later = ['b', 'c', 'd'].map((k) => store.writeNow(() => store.setMeta(k, '1')))
      assert.equal(store.commits, commits + 1, 'writes issued while its fsync runs wait for it')
      await first
      await Promise.all(later)
      assert.equal(store.commits, commits + 2, 'they committed together, in one transaction')
      assert.ok(store.syncs >= syncs + 2, `they resolved after a second fsync (${syncs} → ${store.syncs})`)
      for (const k of ['a', 'b', 'c', 'd']) assert.equal(store.getMeta(k)?.toString(), '1', `${k} is stored`)
      // Closing while writes wait for an fsync: they are committed and made durable by close itself.
      const held = store.writeNow(() => store.setMeta('e', '1'))
      const waiting = store.writeNow(() => store.setMeta('f', '1'))
      store.close()
      await Promise.all([held, waiting])
    } finally {
      store.close()
    }
    const again = new SqliteStore(path)
    try {
      for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) assert.equal(again.getMeta(k)?.toString(), '1', `${k} survived the close`)
    } finally {
      again.close()
    }
  }))
test('a write that may wait commits within its time, or with the next write in their order; close commits it', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'soon.db')
    const store = new SqliteStore(path)
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
    try {
      await store.write(() => store.setMeta('warm', 'v'))
      // Alone: not in this turn, but within its time (and durable when it resolves).
      let commits = store.commits
      const syncs = store.syncs
      const t0 = performance.now()
      const alone = store.writeSoon(() => store.setMeta('alone', '1'), 60)
      await turn()
      await turn()
      assert.equal(store.commits, commits, 'a write that may wait does not commit in its turn')
      await alone
      const waited = performance.now() - t0
      assert.ok(waited >= 55 && waited < 1000, `it committed after about its 60 ms (${waited.toFixed(0)} ms)`)
      assert.equal(store.commits, commits + 1)
      assert.ok(store.syncs > syncs, 'it resolved after an fsync')
      // With a later write: in the same commit, first.
      commits = store.commits
      const soon = store.writeSoon(() => store.setMeta('x', 'soon'), 10_000)
      const later = store.write(() => store.getMeta('x')?.toString())
      assert.equal(await later, 'soon', 'the later write sees what the earlier one wrote')
      await soon
      assert.equal(store.commits, commits + 1, 'both went in one commit, at once')
      // A shorter time than the one queued brings the commit forward.
      commits = store.commits
      const t1 = performance.now()
      const long = store.writeSoon(() => store.setMeta('long', '1'), 10_000)
      const short = store.writeSoon(() => store.setMeta('short', '1'), 20)
      await Promise.all([long, short])
      assert.ok(performance.now() - t1 < 5000, 'the shorter time decided')
      assert.equal(store.commits, commits + 1, 'both in one commit')
      // Queued when the store closes: committed and made durable by close.
      const pending = store.writeSoon(() => store.setMeta('closing', '1'), 10_000)
      store.close()
      await pending
      await assert.rejects(
        store.writeSoon(() => undefined, 1),
        /closed/,
      )
    } finally {
      store.close()
    }
    const again = new SqliteStore(path)
    try {
      for (const k of ['alone', 'long', 'short', 'closing']) assert.equal(again.getMeta(k)?.toString(), '1', `${k} is stored`)
    } finally {
      again.close()
    }
  }))
test('a grown WAL is checkpointed in a quiet moment and started over at the next commit; close checkpoints it and removes it', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'grow.db')
    const store = new SqliteStore(path)
    try {
      const blob = Buffer.alloc(64 * 1024, 7)
      // About 6 MiB of WAL, over the 4 MiB at which a checkpoint is due.
      for (let i = 0; i < 96; i++) await store.write(() => store.setMeta(`blob${i}`, blob))
      assert.equal(store.checkpoints, 0, 'not while commits keep coming')
      const deadline = Date.now() + 5_000
      while (store.checkpoints === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      assert.equal(store.checkpoints, 1, 'one checkpoint once writes paused')
      assert.ok(statSync(path).size > 6 * 1024 * 1024, 'the pages are in the database file')
      // The next commit starts the WAL over and cuts it back to what it wrote (journal_size_limit = 0).
      await store.write(() => store.setMeta('after', 'x'))
      assert.ok(statSync(`${path}-wal`).size < 64 * 1024, `the WAL started over: ${statSync(`${path}-wal`).size} bytes`)
      await new Promise((r) => setTimeout(r, 400))
      assert.equal(store.checkpoints, 1, 'a small WAL is not checkpointed again')
    } finally {
      store.close()
    }
    assert.equal(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0, 0, 'no WAL left after close')
    const again = new SqliteStore(path)
    try {
      assert.ok(again.closedCleanly, 'the store closed the database as its last connection')
      assert.equal(again.getMeta('blob95')?.byteLength, 64 * 1024)
      assert.equal(again.getMeta('after')?.toString(), 'x')
    } finally {
      again.close()
    }
  }))

test('reopening a current database runs no migration and keeps data', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'again.db')
    const a = new SqliteStore(path)
    await a.write(() => a.setMeta('x', 'y'))
    a.close()
    const b = new SqliteStore(path)
    try {
      assert.equal(b.schemaVersion, MIGRATIONS.length)
      assert.equal(b.getMeta('x')?.toString(), 'y')
    } finally {
      b.close()
    }
  }))

test('invites made before revocation existed (schema 2) are open after the upgrade, and can be revoked', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'v2.db')
    const old = new Database(path)
    old.exec(MIGRATIONS[0]!)
    old.exec(MIGRATIONS[1]!)
    old.pragma('user_version = 2')
    old.prepare(`INSERT INTO workspaces (id, name, owner_id, created_at, joined_at) VALUES ('w1', 'W', 'o', 1, 1)`).run()
    old
      .prepare(`INSERT INTO invites (id, workspace_id, secret_hash, role, created_at, expires_at, require_approval)
        VALUES ('i1', 'w1', x'00', 'editor', 5, 9, 1)`)
      .run()
    old.close()
    const s = new SqliteStore(path)
    try {
      assert.equal(s.schemaVersion, MIGRATIONS.length)
      const row = s.getInvite('i1')!
      assert.deepEqual([row.usedAt, row.declinedAt, row.declinedBy, row.revokedAt, row.requireApproval], [null, null, null, null, true])
      assert.equal(await s.write(() => s.revokeInvite('i1', 10)), true)
      assert.equal(s.listInvites('w1', 5)[0]?.revokedAt, 10)
    } finally {
      s.close()
    }
  }))

test('a file of random bytes is refused as corrupt and left untouched', () =>
  inTemp((dir) => {
    const path = join(dir, 'garbage.db')
    writeFileSync(path, garbage(64 * 1024, 'random'))
    assertRefused(path, 'corrupt')
    assert.deepEqual(readdirSync(dir), ['garbage.db'])
  }))

test('a short file that is not SQLite is refused as corrupt', () =>
  inTemp((dir) => {
    const path = join(dir, 'short.db')
    writeFileSync(path, 'SQLite')
    assertRefused(path, 'corrupt')
  }))

test('a real database with a page in the middle overwritten by garbage is refused as corrupt, untouched', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'damaged.db')
    const store = new SqliteStore(path)
    const changes = Array.from({ length: 3000 }, (_, i) => ({
      hash: i.toString(16).padStart(64, '0'),
      author: 'dev',
      signature: new Uint8Array(64).fill(1),
      bytes: garbage(300, `c${i}`),
    }))
    await store.write(() => store.appendChanges('d1', changes, 1))
    store.close()
    // The damage comes later than the store's clean stop, as anything does that writes the file afterwards:
    // within the same tick of the file system's clock it would keep the time of change the store recorded.
    await laterThanClose(path)
    const file = readFileSync(path)
    const pageSize = file.readUInt16BE(16)
    const pages = file.length / pageSize
    assert.ok(pages > 100, `the database has many pages (${pages})`)
    const fd = openSync(path, 'r+')
    try {
      writeSync(fd, garbage(pageSize, 'page'), 0, pageSize, Math.floor(pages / 2) * pageSize)
    } finally {
      closeSync(fd)
    }
    const err = assertRefused(path, 'corrupt')
    assert.match(err.message, /damaged/)
    assert.deepEqual(readdirSync(dir), ['damaged.db'])
  }))

// Known bug (reported, not fixed here): the integrity check runs on a read-write connection, whose
// close() checkpoints a leftover WAL into the damaged file and deletes the WAL.
test('a damaged database with a WAL left by a crash: neither the file nor its WAL is changed', {}, () =>
  inTemp(async (dir) => {
    const path = join(dir, 'good.db')
    const store = new SqliteStore(path)
    const changes = Array.from({ length: 3000 }, (_, i) => ({
      hash: i.toString(16).padStart(64, '0'),
      author: 'dev',
      signature: new Uint8Array(64).fill(1),
      bytes: garbage(300, `c${i}`),
    }))
    await store.write(() => store.appendChanges('d1', changes, 1))
    store.close()
    // Simulate a crash: copy the database and its un-checkpointed WAL while a writer holds them open.
    const writer = new Database(path)
    const crashed = join(dir, 'crashed.db')
    try {
      writer.pragma('wal_autocheckpoint = 0')
      writer.prepare("INSERT INTO meta (key, value) VALUES ('after', x'01')").run()
      copyFileSync(path, crashed)
      copyFileSync(`${path}-wal`, `${crashed}-wal`)
    } finally {
      writer.close()
    }
    const pageSize = readFileSync(crashed).readUInt16BE(16)
    const pages = readFileSync(crashed).length / pageSize
    const fd = openSync(crashed, 'r+')
    try {
      writeSync(fd, garbage(pageSize, 'page'), 0, pageSize, Math.floor(pages / 2) * pageSize)
    } finally {
      closeSync(fd)
    }
    const before = [sha(crashed), sha(`${crashed}-wal`)]
    assert.throws(
      () => new SqliteStore(crashed),
      (err: unknown) => err instanceof StoreError && err.kind === 'corrupt',
    )
    assert.ok(existsSync(`${crashed}-wal`), 'the WAL is still there')
    assert.deepEqual([sha(crashed), sha(`${crashed}-wal`)], before)
  }),
)

test('the integrity check runs after a stop that was not clean or on a file changed since, not after a clean stop', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'p.db')
    const record = `${path}-clean`
    const open = (): boolean => {
      const store = new SqliteStore(path)
      try {
        assert.equal(existsSync(record), false, 'no clean-stop record while the store is open')
        assert.equal(store.getMeta('x')?.toString(), 'y')
        return store.integrityChecked
      } finally {
        store.close()
      }
    }
    const first = new SqliteStore(path)
    assert.equal(first.integrityChecked, false, 'a new file has nothing to check')
    await first.write(() => first.setMeta('x', 'y'))
    first.close()
    assert.ok(existsSync(record), 'a clean stop is recorded')
    assert.equal((statSync(record).mode & 0o777).toString(8), '600')
    assert.equal(open(), false, 'not checked after a clean stop')
    assert.equal(open(), false, 'nor after the next')
    // A stop that was not clean leaves no record (the open removed it).
    rmSync(record)
    assert.equal(open(), true, 'checked after a stop that was not clean')
    // The file written by something else since (a later time of change, same size).
    await laterThanClose(path)
    const fd = openSync(path, 'r+')
    try {
      const header = Buffer.alloc(100)
      readSync(fd, header, 0, 100, 0)
      writeSync(fd, header, 0, 100, 0)
    } finally {
      closeSync(fd)
    }
    assert.equal(open(), true, 'checked when the file changed after the clean stop')
    // A copy (another inode) with the record copied beside it, or a record that is not one.
    const copy = join(dir, 'copy.db')
    copyFileSync(path, copy)
    copyFileSync(record, `${copy}-clean`)
    const c = new SqliteStore(copy)
    assert.equal(c.integrityChecked, true, 'a copy of the file is checked')
    c.close()
    writeFileSync(record, 'not a record')
    assert.equal(open(), true, 'checked when the record is not one')
    // A record beside a WAL (a writer that came after the store): checked.
    assert.equal(open(), false)
    const other = new Database(path)
    other.pragma('wal_autocheckpoint = 0')
    other.prepare("INSERT INTO meta (key, value) VALUES ('after', x'01')").run()
    const withWal = new SqliteStore(path)
    try {
      assert.equal(withWal.integrityChecked, true, 'checked when a WAL is beside the file')
    } finally {
      withWal.close()
      other.close()
    }
  }))

test('a database from a newer schema is refused as too-new, untouched', () =>
  inTemp((dir) => {
    const path = join(dir, 'future.db')
    const db = new Database(path)
    db.exec('CREATE TABLE t (x)')
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`)
    db.close()
    const err = assertRefused(path, 'too-new')
    assert.match(err.message, new RegExp(`schema ${MIGRATIONS.length + 1}`))
  }))

test('a path in a folder that does not exist is reported as unreadable', () =>
  inTemp((dir) => {
    const path = join(dir, 'no', 'such', 'folder', 'x.db')
    assert.throws(
      () => new SqliteStore(path),
      (err: unknown) => err instanceof StoreError && err.kind === 'unreadable' && err.message.includes(path),
    )
  }))

const modeOf = (path: string): number => statSync(path).mode & 0o777
const unix = { skip: process.platform === 'win32' ? 'file modes mean nothing on Windows (the profile ACLs protect it)' : false }

test('SQLite gives a new -wal and -shm the mode of the database file, whatever the umask', unix, () =>
  inTemp((dir) => {
    // What the store relies on (unixOpen/findCreateFileMode, unixOpenSharedMemory), checked on this SQLite.
    for (const mode of [0o600, 0o640]) {
      const path = join(dir, `raw-${mode.toString(8)}.db`)
      closeSync(openSync(path, 'w', mode))
      chmodSync(path, mode)
      const db = new Database(path)
      try {
        db.pragma('journal_mode = WAL')
        db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
        assert.deepEqual([modeOf(`${path}-wal`), modeOf(`${path}-shm`)], [mode, mode], `db ${mode.toString(8)}`)
      } finally {
        db.close()
      }
    }
  }),
)

test('the store creates its database 0600, so SQLite makes its -wal and -shm 0600 too', unix, () =>
  inTemp(async (dir) => {
    const path = join(dir, 'g.db')
    const store = new SqliteStore(path)
    try {
      await store.write(() => store.setMeta('k', 'v'))
      assert.deepEqual([path, `${path}-wal`, `${path}-shm`].map(modeOf), [0o600, 0o600, 0o600])
    } finally {
      store.close()
    }
  }),
)

test('a looser database, -wal and -shm (an older profile) are made 0600 when the store opens them', unix, () =>
  inTemp(async (dir) => {
    const path = join(dir, 'g.db')
    new SqliteStore(path).close()
    // A connection of someone else keeps the WAL and shm in place (a crash would too), all 0644.
    const other = new Database(path)
    try {
      other.pragma('wal_autocheckpoint = 0')
      other.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('left', Buffer.from('in the WAL'))
      for (const p of [path, `${path}-wal`, `${path}-shm`]) chmodSync(p, 0o644)
      const store = new SqliteStore(path)
      try {
        assert.equal(store.getMeta('left')?.toString(), 'in the WAL')
        assert.deepEqual([path, `${path}-wal`, `${path}-shm`].map(modeOf), [0o600, 0o600, 0o600])
      } finally {
        store.close()
      }
    } finally {
      other.close()
    }
  }),
)

test('eraseSecretly commits the writes queued before it first, also those waiting for an fsync: none of them writes the secret back', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'q.db')
    const secret = garbage(68, 'queued secret')
    const store = new SqliteStore(path)
    try {
      await store.write(() => store.setMeta('warm', 'v'))
      void store.writeNow(() => store.setMeta('other', 'v')) // its fsync now runs on the pool
      const queued = store.write(() => store.setMeta('secret', secret)) // waits for that fsync (group commit)
      store.eraseSecretly(() => store.setMeta('secret', 'gone'))
      await queued
      assert.equal(store.getMeta('secret')?.toString(), 'gone', 'the queued write committed before the erase, not after it')
    } finally {
      store.close()
    }
    for (const s of ['', '-wal', '-shm']) assert.ok(!existsSync(path + s) || !readFileSync(path + s).includes(secret), `not in ${path}${s}`)
  }))

test('eraseSecretly leaves no byte of the secret in the database file, its WAL or its shm', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'g.db')
    const secret = garbage(68, 'secret')
    const holding = (): string[] => ['', '-wal', '-shm'].filter((s) => existsSync(path + s) && readFileSync(path + s).includes(secret))
    const store = new SqliteStore(path)
    try {
      await store.write(() => store.setMeta('secret', secret))
      // The secret reaches the main file (a checkpoint), and later pages stay in the WAL beside it.
      ;(store as unknown as { db: Database.Database }).db.pragma('wal_checkpoint(PASSIVE)')
      for (let i = 0; i < 30; i++) await store.write(() => store.setMeta(`filler${i}`, garbage(500, `f${i}`)))
      assert.ok(holding().includes(''), 'the test starts with the secret in the main file')
      // An ordinary overwrite is not enough: the old page image stays in the file until a checkpoint.
      await store.write(() => store.setMeta('secret', 'gone'))
      assert.ok(holding().length > 0, 'still there after a plain overwrite')
      store.eraseSecretly(() => store.setMeta('secret', 'gone'))
      assert.deepEqual(holding(), [], 'nowhere after eraseSecretly')
      await store.write(() => store.setMeta('after', 'works'))
      assert.equal(store.getMeta('filler29')?.byteLength, 500, 'the other rows are intact')
    } finally {
      store.close()
    }
    assert.deepEqual(holding(), [])
    const again = new SqliteStore(path)
    assert.equal(again.getMeta('after')?.toString(), 'works')
    again.close()
  }))

test('a number the change log gave a value in a write that rolled back is not kept: the value gets its own number later (interned.ts)', () =>
  inTemp(async (dir) => {
    const store = new SqliteStore(join(dir, 'g.db'))
    const hex = (n: number): string => n.toString(16).padStart(64, '0')
    const change = (n: number) => ({ hash: hex(n), author: 'device-a', signature: Buffer.alloc(64, n), bytes: Buffer.from([n]) })
    // A's first row is written, then the write throws: its savepoint, A's number with it, rolls back.
    await assert.rejects(
      store.write(() => {
        store.appendChanges('doc-a', [change(1)], 1)
        throw new Error('refused (a test)')
      }),
      /refused/,
    )
    // B takes the number A had for a moment.
    await store.write(() => store.appendChanges('doc-b', [change(2)], 2))
    await store.write(() => store.appendChanges('doc-a', [change(3)], 3))
    assert.deepEqual(
      store.changesAfter('doc-a', 0).map((r) => [r.docId, r.hash]),
      [['doc-a', hex(3)]],
    )
    assert.deepEqual(
      store.changesAfter('doc-b', 0).map((r) => [r.docId, r.hash]),
      [['doc-b', hex(2)]],
    )
    store.close()
  }))

test('envelopes a cover replaces give their pages back: the file shrinks at close, and each row keeps its place and fields', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'c.db')
    const hex = (n: number): string => n.toString(16).padStart(64, '0')
    const keys = 2000
    // A teammate's keys, each an envelope as the live path brings it (a sealed change of about 330 bytes, signed),
    // with another author's change between every hundred of them.
    const envelope = (n: number, author = 'device-a') => ({
      hash: hex(n),
      author,
      signature: garbage(64, `s${n}`),
      bytes: garbage(330, `c${n}`),
      epoch: 'e'.repeat(32),
      m: [hex(100_000)],
      deps: [hex(n - 1)],
    })
    let store = new SqliteStore(path)
    await store.write(() => {
      for (let n = 1; n <= keys; n++)
        store.appendChanges('d1', n % 100 === 0 ? [envelope(n), envelope(100_000 + n, 'device-b')] : [envelope(n)], n)
    })
    const before = store.changesAfter('d1', 0)
    store.close()
    const sizeBefore = statSync(path).size
    /** Every column of the log's rows as stored, the sealed change, signature and cover left out (a column added later is compared too). */
    const raw = (): Record<string, unknown>[] => {
      const db = new Database(path, { readonly: true })
      try {
        return (db.prepare('SELECT * FROM changes ORDER BY seq').all() as Record<string, unknown>[]).map(
          ({ signature: _s, bytes: _b, cover: _c, ...rest }) => rest,
        )
      } finally {
        db.close()
      }
    }
    const rawBefore = raw()
    store = new SqliteStore(path)
    const cover = {
      author: 'device-a',
      signature: garbage(64, 'cover'),
      bytes: garbage(2000, 'bundle'),
      epoch: 'e'.repeat(32),
      m: [hex(100_000)],
      deps: [hex(0)],
      k: garbage(32 * keys, 'k'),
      kd: garbage(keys, 'kd'),
    }
    const covered = Array.from({ length: keys }, (_, i) => ({ hash: hex(i + 1), deps: [hex(i)] }))
    const put = await store.write(() => store.putCover('d1', cover, covered, keys + 1, true))
    assert.equal(put.replaced, keys)
    const after = store.changesAfter('d1', 0)
    store.close()
    const sizeAfter = statSync(path).size
    console.log(`${keys} envelopes: ${sizeBefore} bytes; under a cover: ${sizeAfter} bytes`)
    // Each replaced row is where it was, as it was, but for its sealed change and signature.
    assert.deepEqual(
      after.map((r) => [
        r.seq,
        r.hash,
        r.author,
        r.arrivedAt,
        r.epoch,
        r.m,
        r.deps,
        r.n,
        r.cover === put.id,
        r.signature.byteLength,
        r.bytes.byteLength,
      ]),
      before.map((r) => {
        const mine = r.author === 'device-a'
        return [r.seq, r.hash, r.author, r.arrivedAt, r.epoch, r.m, r.deps, r.n, mine, mine ? 0 : 64, mine ? 0 : 330]
      }),
    )
    assert.deepEqual(raw(), rawBefore, 'every other column of every row as it was')
    // The sealed changes were about 800 KB of the file, and the cover adds about 70 KB.
    assert.ok(sizeAfter < sizeBefore * 0.5, `${sizeAfter} bytes after, ${sizeBefore} before`)
  }))
