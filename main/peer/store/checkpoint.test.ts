/**
 * Checkpoints off the event loop (sqlite-store.ts `checkpointInBackground`): the WAL is copied with
 * synchronous=OFF and the database file synced on libuv's pool, and until that fsync returns SQLite may
 * not start the WAL over; close in the middle syncs and finishes on the thread; kill -9 among checkpoints
 * loses no acknowledged write. GRAPEVINE_CHECKPOINT_CRASH_CYCLES sets the crash cycles (default 4).
 *
 * A kill -9 leaves the OS's page cache to be written, so it shows that the store's bookkeeping loses
 * nothing (the WAL pinned and released at the right moments, recovery after a crash in between); what a
 * power cut would need, the fsync order, is the first test's point: the WAL is not reused before the
 * database file's fsync has returned.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { inTemp, killAfterAcks } from '../test/helpers.ts'
import { seededRandom } from '../test/random.ts'
import { rowValue } from './checkpoint-rows.ts'
import { SqliteStore } from './sqlite-store.ts'

const WRITER = fileURLToPath(new URL('./checkpoint-crash-writer.ts', import.meta.url))
const CYCLES_SETTING = process.env['GRAPEVINE_CHECKPOINT_CRASH_CYCLES'] || '4'

const walSize = (path: string): number => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0)

/** Commits `rows` rows of 8 KiB that do not compress, 16 writes at a time. */
async function fill(store: SqliteStore, rows: number, seed: number): Promise<void> {
  for (let i = 0; i < rows; i += 16)
    await Promise.all(Array.from({ length: 16 }, (_, k) => store.write(() => store.setMeta(`row${i + k}`, rowValue(seed, i + k)))))
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('the WAL is not started over before the database file is synced: commits meanwhile append to it, then it starts over', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'pin.db')
    let during: { before: number; after: number; write: Promise<void> } | undefined
    const store: SqliteStore = new SqliteStore(path, {
      checkpointWalBytes: 1024 * 1024,
      onCheckpointCopied: () => {
        // The copy is done, the database file's fsync has not returned: a commit now must not reuse the WAL.
        const before = walSize(path)
        const write = store.writeNow(() => store.setMeta('during', 'x'))
        during = { before, after: walSize(path), write }
      },
    })
    try {
      await fill(store, 256, 1) // 2 MiB
      await until('the checkpoint', () => store.checkpoints === 1)
      assert.ok(during, 'the checkpoint copied the WAL')
      await during.write
      assert.ok(during.after > during.before, `the commit appended to the WAL (${during.before} → ${during.after} bytes)`)
      assert.ok(during.before > 2 * 1024 * 1024, 'which still held every frame')
      assert.ok(statSync(path).size > 2 * 1024 * 1024, 'the rows are in the database file')
      // The fsync returned and the pin is gone, but the frames committed meanwhile are not copied yet, so the WAL
      // goes on. The next quiet moment copies them, and the commit after that starts the WAL over and cuts it back.
      await store.write(() => store.setMeta('after', 'x'))
      assert.ok(walSize(path) > during.after, 'not started over while it holds frames not copied')
      await until('the second checkpoint', () => store.checkpoints === 2)
      await store.write(() => store.setMeta('after', 'y'))
      assert.ok(walSize(path) < 64 * 1024, `the WAL started over: ${walSize(path)} bytes`)
      for (const i of [0, 100, 255]) assert.deepEqual(store.getMeta(`row${i}`), rowValue(1, i), `row ${i}`)
    } finally {
      store.close()
    }
    const again = new SqliteStore(path)
    try {
      assert.ok(again.closedCleanly)
      assert.equal(again.getMeta('during')?.toString(), 'x')
      assert.equal(again.getMeta('after')?.toString(), 'y')
    } finally {
      again.close()
    }
  }))

test('closed while the database file is being synced after a checkpoint: close syncs it, checkpoints the rest and removes the WAL', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'close.db')
    let closedInHook = false
    const store: SqliteStore = new SqliteStore(path, {
      checkpointWalBytes: 1024 * 1024,
      onCheckpointCopied: () => {
        void store.write(() => store.setMeta('last', 'x')).catch(() => {})
        store.close()
        closedInHook = true
      },
    })
    await fill(store, 256, 2)
    await until('the close', () => closedInHook)
    assert.equal(existsSync(`${path}-wal`), false, 'the WAL was checkpointed and removed on close')
    const again = new SqliteStore(path)
    try {
      assert.ok(again.closedCleanly, 'recorded as a clean stop: the store closed the database as its last connection')
      assert.equal(again.getMeta('last')?.toString(), 'x', 'the write queued before close was committed by it')
      assert.deepEqual(again.getMeta('row255'), rowValue(2, 255))
    } finally {
      again.close()
    }
  }))

/** The number of cycles; zero or a typo would make the test pass having crashed nothing, so it fails instead. */
function cycles(): number {
  const n = Number(CYCLES_SETTING)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`GRAPEVINE_CHECKPOINT_CRASH_CYCLES must be a whole number of at least 1 (got '${CYCLES_SETTING}')`)
  return n
}

/**
 * Runs the writer until it has acknowledged `acks` rows (30 s at most), and with `afterCheckpoint` until it
 * has also finished a checkpoint, then SIGKILLs it.
 */
async function writeThenKill(
  path: string,
  first: number,
  seed: number,
  acks: number,
  afterCheckpoint: boolean,
): Promise<{ acked: number[]; checkpoints: number }> {
  let checkpoints = 0
  const acked = await killAfterAcks(
    WRITER,
    [path, String(first), String(seed)],
    acks,
    30_000,
    (l) => {
      if (l.startsWith('CKPT ')) checkpoints = Number(l.slice(5))
    },
    () => !afterCheckpoint || checkpoints > 0,
  )
  return { acked, checkpoints }
}

test(`kill -9 among checkpoints loses no acknowledged write (${CYCLES_SETTING} cycles)`, () =>
  inTemp(async (dir) => {
    const rnd = seededRandom('checkpoint crash')
    const path = join(dir, 'crash.db')
    let next = 0
    let checkpoints = 0
    const acked: number[] = []
    for (let c = 0; c < cycles(); c++) {
      // 300–1,000 rows of 8 KiB: 2.3–7.8 MiB, past the writer's 256 KiB threshold many times over. On a
      // busy disk no checkpoint may finish within that (CI once saw none in 4 cycles): the last cycle then
      // writes on until one has, so that a kill among checkpoints is what this test always shows.
      const last = c === cycles() - 1
      const burst = await writeThenKill(path, next, rnd.seed, rnd.between(300, 1000), last && checkpoints === 0)
      acked.push(...burst.acked)
      checkpoints += burst.checkpoints
      next = Math.max(next, ...burst.acked) + 1000 // rows a killed write may have half-written are not reused
      // Opened as after any crash: the store checks the file, and every row acknowledged so far is there, whole.
      const store = new SqliteStore(path)
      try {
        assert.ok(store.integrityChecked, 'not a clean stop: the store checked the file')
        for (const n of acked) assert.deepEqual(store.getMeta(`row${n}`), rowValue(rnd.seed, n), `row ${n} (cycle ${c})`)
      } finally {
        store.close()
      }
    }
    const db = new Database(path, { readonly: true })
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')
    } finally {
      db.close()
    }
    console.log(`${cycles()} kills, ${acked.length} acknowledged rows, all there; ${checkpoints} checkpoints had finished`)
    assert.ok(checkpoints > 0, 'the writers were killed among checkpoints, not before the first')
  }))
