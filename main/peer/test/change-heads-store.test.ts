/**
 * The membership heads each change was signed under, in the change log (migration 4): changes
 * stored before it have none (null: they were signed without, and are judged by their author's
 * current role); new ones keep theirs, byte for byte, and catch-up serves them as they were signed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { MIGRATIONS } from '../store/migrations.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { inTemp } from './helpers.ts'

const hex = (n: number): string => n.toString(16).padStart(64, '0')
const rec = (n: number, m?: string[] | null) => ({
  hash: hex(n),
  author: 'devA',
  signature: new Uint8Array(64).fill(n),
  bytes: Uint8Array.from([n, 1, 2]),
  ...(m === undefined ? {} : { m }),
})

test('changes stored before the upgrade have no membership heads; new ones keep theirs', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'old.db')
    const old = new Database(path)
    // The schema as it was before this migration: every earlier one, whatever their number.
    const before = MIGRATIONS.findIndex((sql) => sql.includes('membership_heads'))
    assert.ok(before > 0, 'a migration adds the column')
    for (const sql of MIGRATIONS.slice(0, before)) old.exec(sql)
    old.pragma(`user_version = ${before}`)
    old.prepare(`INSERT INTO workspaces (id, name, owner_id, created_at, joined_at) VALUES ('w1', 'W', 'o', 1, 1)`).run()
    old
      .prepare(
        `INSERT INTO documents (id, workspace_id, created_at, last_change_at) VALUES ('d1', 'w1', 1, 1), ('d2', 'w1', 1, 1), ('d3', 'w1', 1, 1)`,
      )
      .run()
    old
      .prepare(`INSERT INTO changes (doc_id, hash, author, signature, bytes, arrived_at) VALUES ('d1', ?, 'devA', ?, ?, 5)`)
      .run(hex(1), Buffer.alloc(64, 1), Buffer.from([1, 1, 2]))
    old.close()
    const s = new SqliteStore(path)
    try {
      assert.equal(s.schemaVersion, MIGRATIONS.length)
      assert.equal(s.changesAfter('d1', 0)[0]?.m, null, 'an older change has no heads')
      const rows = await s.write(() => [
        ...s.appendChanges('d1', [rec(2, [hex(7), hex(9)]), rec(3, [])], 6),
        ...s.appendChanges('d2', [rec(4, null)], 6),
        ...s.appendChanges('d2', [rec(5)], 6),
      ])
      assert.deepEqual(
        rows.map((r) => r.m),
        [[hex(7), hex(9)], [], null, null],
      )
      assert.deepEqual(
        s.changesAfter('d1', 0).map((r) => r.m),
        [null, [hex(7), hex(9)], []],
        'the empty heads of a change made right after `create` are not an older change',
      )
      assert.deepEqual(
        s.getChanges('d2', [hex(5), hex(4)]).map((r) => r.m),
        [null, null],
      )
      await s.write(() => s.appendChanges('d3', [{ ...rec(6, [hex(1)]), author: 'devB' }], 7))
      assert.deepEqual(s.docsWrittenBy('w1', ['devA']), ['d1', 'd2'])
      assert.deepEqual(s.docsWrittenBy('w1', ['devB', 'devC']), ['d3'])
      assert.deepEqual(s.docsWrittenBy('w1', []), [])
      assert.deepEqual(s.docsWrittenBy('w2', ['devA']), [])
    } finally {
      s.close()
    }
  }))
