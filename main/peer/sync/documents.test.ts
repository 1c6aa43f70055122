/**
 * Documents over a real SQLite file, without a network: snapshots, opening from a snapshot plus
 * the changes after it, recovery of the listing after an unclean stop, duplicates, batching.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import Database from 'better-sqlite3'
import { MIGRATIONS } from '../store/migrations.ts'
import type { SqliteStore } from '../store/sqlite-store.ts'
import type { ChangeRow } from '../store/types.ts'
import { tempDir, waitFor } from '../test/helpers.ts'
import { documentsFixture } from './documents-fixture.ts'
import { REMOTE_COMMIT_WITHIN_MS } from './documents.ts'
import { sealChange, validateChange, isRejection, type ValidChange } from './change-validation.ts'
import { setText } from './doc-content.ts'
import { HistoryIndex } from './history-index.ts'
import { silentLog } from '../log.ts'

// Snapshots from the first change: these tests are about what snapshots hold (a short note has none: see the last test).
const setup = (dir: string, snapshotEvery = 100, firstSnapshotAfter = 1) => documentsFixture(dir, { snapshotEvery, firstSnapshotAfter })

/** What undoes each migration (by the schema version it brings a profile to), to make a profile of an older version. */
const UNDO: Record<number, string[]> = {
  6: ['title', 'text', 'deleted'].map((c) => `ALTER TABLE snapshots DROP COLUMN ${c}`),
  7: ['ALTER TABLE changes DROP COLUMN n'],
  8: ['DROP TABLE address_records'],
  9: ['DROP TABLE search_fts', 'DROP TABLE search_docs'],
  10: ['DROP INDEX changes_by_author'],
  11: ['DROP TABLE history_sessions', 'DROP TABLE history_progress', 'DROP TABLE device_zones'],
  12: ['ALTER TABLE doc_reads DROP COLUMN read_heads'],
  // The change log back to hex hashes and epochs and authors' ids in full, as schema 12 wrote it.
  13: [
    `CREATE TABLE changes_12 (seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, hash TEXT NOT NULL, author TEXT NOT NULL,
      signature BLOB NOT NULL, bytes BLOB NOT NULL, arrived_at INTEGER NOT NULL, membership_heads BLOB, epoch TEXT, deps BLOB,
      n INTEGER NOT NULL DEFAULT 1, UNIQUE (doc_id, hash))`,
    `INSERT INTO changes_12 SELECT c.seq, c.doc_id, lower(hex(c.hash)), a.device, c.signature, c.bytes, c.arrived_at, c.membership_heads,
      CASE WHEN c.epoch IS NULL THEN NULL ELSE lower(hex(c.epoch)) END, c.deps, c.n FROM changes c JOIN authors a ON a.id = c.author`,
    'DROP TABLE changes',
    'ALTER TABLE changes_12 RENAME TO changes',
    'CREATE INDEX changes_by_doc ON changes (doc_id, seq)',
    'CREATE INDEX changes_by_author ON changes (doc_id, author, seq)',
    'DROP TABLE authors',
  ],
  // The change log back to documents' ids in full and epochs and membership heads on every row, as schema 13 wrote it.
  14: [
    `CREATE TABLE changes_13 (seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, hash BLOB NOT NULL, author INTEGER NOT NULL REFERENCES authors(id),
      signature BLOB NOT NULL, bytes BLOB NOT NULL, arrived_at INTEGER NOT NULL, membership_heads BLOB, epoch BLOB, deps BLOB,
      n INTEGER NOT NULL DEFAULT 1, UNIQUE (doc_id, hash))`,
    `INSERT INTO changes_13 SELECT c.seq, k.doc, c.hash, c.author, c.signature, c.bytes, c.arrived_at, s.heads, e.epoch, c.deps, c.n
      FROM changes c JOIN doc_keys k ON k.id = c.doc LEFT JOIN mstates s ON s.id = c.m LEFT JOIN epochs e ON e.id = c.epoch`,
    'DROP TABLE changes',
    'ALTER TABLE changes_13 RENAME TO changes',
    'CREATE INDEX changes_by_doc ON changes (doc_id, seq)',
    'CREATE INDEX changes_by_author ON changes (doc_id, author, seq)',
    'DROP TABLE doc_keys',
    'DROP TABLE epochs',
    'DROP TABLE mstates',
  ],
  15: ['ALTER TABLE changes DROP COLUMN cover', 'DROP TABLE covers'],
}

/** Brings a closed profile back to schema `version`, as that version of the app left it. */
function asSchema(dir: string, version: number): void {
  const raw = new Database(join(dir, 'g.db'))
  try {
    for (let v = MIGRATIONS.length; v > version; v--) {
      const undo = UNDO[v]
      if (!undo) throw new Error(`no undo for migration ${v}: add it to UNDO`)
      for (const sql of undo) raw.exec(sql)
    }
    raw.pragma(`user_version = ${version}`)
  } finally {
    raw.close()
  }
}

test('a document reopens from its snapshot plus the changes after it, after an unclean stop', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Log', '')
    let text = ''
    for (let i = 0; i < 250; i++) {
      text += `line ${i}\n`
      await first.edit(row.id, (d) => setText(d, text))
    }
    const snap = store.getSnapshot(row.id)
    assert.ok(snap, 'a snapshot was taken after 100 changes')
    const total = store.countChangesAfter(row.id, 0)
    assert.equal(total, 251)
    assert.ok(snap.upToSeq < store.changesAfter(row.id, 0).at(-1)!.seq, 'the snapshot is behind the log: the tail must be replayed')
    // No close(): as after a crash, a second Documents opens what is on disk.
    const second = docs()
    const reopened = second.content(row.id)
    assert.equal(reopened.text, text)
    assert.deepEqual(reopened.heads, first.heads(row.id))
    // A clean close snapshots every loaded document up to its last change.
    await second.close()
    assert.equal(store.getSnapshot(row.id)!.upToSeq, store.changesAfter(row.id, 0).at(-1)!.seq)
    store.close()
  } finally {
    dir.remove()
  }
})

test('a document not in memory is read from the content stored with its snapshot, without loading it', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Notes', 'hello')
    await first.edit(row.id, (d) => setText(d, 'hello world'))
    const heads = first.heads(row.id)
    await first.close() // snapshots every loaded document up to its last change
    // Spoil the snapshot's Automerge bytes: a load would now fail, so an answer proves no load happened.
    const raw = new Database(store.path)
    raw.prepare('UPDATE snapshots SET bytes = ? WHERE doc_id = ?').run(Buffer.from([0, 1, 2]), row.id)
    raw.close()
    const second = docs()
    assert.deepEqual(second.content(row.id), { title: 'Notes', text: 'hello world', deleted: false, heads })
    // Opening hands out the snapshot's own bytes at once (here the spoiled ones), and loads after.
    const held = second.hold(row.id)
    assert.deepEqual([...held.bytes], [0, 1, 2])
    assert.deepEqual(held.heads, heads)
    second.release(row.id)
    await second.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a document opened from its snapshot is loaded right after, and follows edits like any other', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Notes', 'one')
    await first.close()
    const second = docs()
    const seen: Uint8Array[][] = []
    second.on('changes', (_docId, changes) => seen.push(changes))
    const held = second.hold(row.id)
    let replica = A.load<{ text: string }>(held.bytes)
    assert.equal(replica.text, 'one')
    await new Promise((r) => setImmediate(r)) // the load after the answer
    await second.edit(row.id, (d) => setText(d, 'one two'))
    for (const c of seen) [replica] = A.applyChanges(replica, c)
    assert.equal(replica.text, 'one two', 'the window follows the edit from the bytes it was handed')
    second.release(row.id)
    second.release(row.id) // one release too many changes nothing
    assert.equal(second.content(row.id).text, 'one two')
    await second.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a profile written before snapshots carried content (schema 5) upgrades in place, and its documents read as before', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Old', 'written by the previous schema')
    await first.close()
    store.close()
    // The same profile as the previous version left it: the snapshot table without the content columns, schema 5.
    asSchema(dir.path, 5)
    const again = await setup(dir.path)
    assert.equal(again.store.schemaVersion, MIGRATIONS.length)
    assert.ok(again.store.getSnapshot(row.id), 'the old snapshot is kept')
    assert.equal(again.store.getSnapshotContent(row.id), undefined, 'it carries no content: the document is loaded to be read')
    const d = again.docs()
    assert.equal(d.content(row.id).text, 'written by the previous schema')
    await d.edit(row.id, (c) => setText(c, 'and edited after the upgrade'))
    await d.close() // its next snapshot carries content
    assert.equal(again.store.getSnapshotContent(row.id)?.text, 'and edited after the upgrade')
    again.store.close()
  } finally {
    dir.remove()
  }
})

test('a profile written before runs (schema 6) upgrades in place: every change it logged is one change, and reads and counts as before', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path, 1000)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Old', '')
    let text = ''
    for (let i = 0; i < 6; i++) {
      text += `${i}`
      await first.edit(row.id, (d) => setText(d, text))
    }
    await first.close()
    const logged = store.changesAfter(row.id, 0).map((r) => r.hash)
    store.close()
    // The same profile as the previous version left it: the change log without the run column, schema 6.
    asSchema(dir.path, 6)
    const again = await setup(dir.path)
    assert.equal(again.store.schemaVersion, MIGRATIONS.length)
    const rows = again.store.changesAfter(row.id, 0)
    assert.deepEqual(
      rows.map((r) => r.hash),
      logged,
    )
    assert.ok(
      rows.every((r) => r.n === 1),
      'each row is one change',
    )
    assert.equal(again.store.changeCounts().get(row.id), 7)
    const d = again.docs()
    assert.equal(d.content(row.id).text, text)
    await d.edit(row.id, (c) => setText(c, `${text}!`))
    assert.equal(d.content(row.id).text, `${text}!`)
    await d.close()
    again.store.close()
  } finally {
    dir.remove()
  }
})

/**
 * 40 notes of 6 changes each, brought back to schema `version` (`asSchema`) and vacuumed, then opened by this
 * version: `old` looks at the old file, `upgraded` at the store once migrated. Every row must read back as it
 * was written, the file must shrink, and the notes must read and take an edit as before. Returns the rows of
 * the first note after that edit.
 */
async function upgradesInPlace(
  version: number,
  old: (raw: Database.Database, c: { ids: string[]; author: string }) => void,
  upgraded: (store: SqliteStore, c: { ids: string[]; author: string; ws: string; logged: ChangeRow[][] }) => void,
): Promise<{ rows: ChangeRow[]; logged: ChangeRow[][] }> {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path, 1000)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const ids: string[] = []
    for (let n = 0; n < 40; n++) {
      const row = await first.create(ws, `Note ${n}`, `note ${n}: `)
      for (let i = 0; i < 5; i++) await first.edit(row.id, (d) => setText(d, `note ${n}: ${'x'.repeat(i + 1)}`))
      ids.push(row.id)
    }
    const texts = ids.map((id) => first.content(id).text)
    await first.close()
    const logged = ids.map((id) => store.changesAfter(id, 0))
    const author = logged[0]![0]!.author
    const before = captureStore(store, ids, author)
    store.close()
    asSchema(dir.path, version)
    const raw = new Database(join(dir.path, 'g.db'))
    raw.exec('VACUUM')
    old(raw, { ids, author })
    raw.close()
    const sizeBefore = statSync(join(dir.path, 'g.db')).size
    const again = await setup(dir.path)
    assert.equal(again.store.schemaVersion, MIGRATIONS.length)
    assert.deepEqual(
      ids.map((id) => again.store.changesAfter(id, 0)),
      logged,
      'every row as it was: seq, document, hash, author, signature, bytes, epoch, deps, membership heads, arrival',
    )
    assert.deepEqual(captureStore(again.store, ids, author), before, 'what the store answers of the log, as before')
    upgraded(again.store, { ids, author, ws, logged })
    again.store.close()
    const sizeAfter = statSync(join(dir.path, 'g.db')).size
    assert.ok(sizeAfter < sizeBefore, `the file shrank: ${sizeBefore} -> ${sizeAfter} bytes`)
    const reopened = await setup(dir.path)
    const d = reopened.docs()
    assert.deepEqual(
      ids.map((id) => d.content(id).text),
      texts,
    )
    await d.edit(ids[0]!, (c) => setText(c, 'edited after the upgrade'))
    const rows = reopened.store.changesAfter(ids[0]!, 0)
    assert.equal(rows.length, 7)
    await d.close()
    reopened.store.close()
    return { rows, logged }
  } finally {
    dir.remove()
  }
}

/** What the store answers of a log besides its rows: hashes by prefix, authors, counts, who wrote what. */
function captureStore(store: SqliteStore, ids: string[], author: string): unknown {
  const first = store.changesAfter(ids[0]!, 0)
  return {
    found: store.changeHashesStartingWith(ids[0]!, first[2]!.hash.slice(0, 7), 5),
    authors: store.changeAuthors(ids[0]!),
    countBy: store.countBy(ids[0]!, author),
    counts: [...store.changeCounts()].sort(),
    written: store.docsWrittenBy(store.getDocument(ids[0]!)!.workspaceId, [author]),
    has: [
      store.hasChange(ids[0]!, first[1]!.hash),
      store.hasChange(ids[0]!, 'not a hash'),
      store.hasChange('no such document', first[1]!.hash),
    ],
  }
}

test('a profile written with a change log in hex and full ids (schema 12) upgrades in place: every row reads back the same, and the file shrinks', async () => {
  await upgradesInPlace(
    12,
    (raw, { author }) => {
      const old = raw.prepare('SELECT hash, author, epoch FROM changes LIMIT 1').get() as { hash: string; author: string; epoch: string }
      assert.match(old.hash, /^[0-9a-f]{64}$/, 'schema 12 kept hashes in hex')
      assert.equal(old.author, author)
      assert.match(old.epoch, /^[0-9a-f]{32}$/)
    },
    (store, { ids, author }) => {
      assert.deepEqual(store.changeAuthors(ids[0]!), [author])
      assert.equal(store.countBy(ids[0]!, author).changes, 6)
    },
  )
})

test('a profile written with documents, epochs and membership heads on every change row (schema 13) upgrades in place: every row reads back the same, and the file shrinks', async () => {
  const { rows, logged } = await upgradesInPlace(
    13,
    (raw, { ids }) => {
      const old = raw.prepare('SELECT doc_id, epoch, membership_heads FROM changes LIMIT 1').get() as Record<string, unknown>
      assert.equal(old['doc_id'], ids[0], 'schema 13 kept the document id on the row')
      assert.ok(old['epoch'] instanceof Uint8Array && old['membership_heads'] instanceof Uint8Array)
    },
    (store, { ids, author, ws }) => {
      assert.deepEqual(store.docsWrittenBy(ws, [author]), [...ids].sort())
      assert.equal(store.hasChange('no such document', store.changesAfter(ids[0]!, 0)[0]!.hash), false)
    },
  )
  assert.deepEqual(rows.at(-1)!.m, logged[0]![0]!.m, 'a row written after the upgrade names the same membership heads')
  assert.equal(rows.at(-1)!.epoch, logged[0]![0]!.epoch)
})

test('a change stored after the snapshot means the document is loaded to be read', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path, 3)
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const row = await first.create(ws, 'Log', '')
    let text = ''
    for (let i = 0; i < 5; i++) {
      text += `${i}`
      await first.edit(row.id, (d) => setText(d, text))
    }
    const snap = store.getSnapshotContent(row.id)
    assert.ok(snap && store.countChangesAfter(row.id, snap.upToSeq) > 0, 'the snapshot is behind the log')
    assert.notEqual(snap.text, text)
    // No close(): as after a crash, a second Documents reads what is on disk.
    assert.equal(docs().content(row.id).text, text)
    store.close()
  } finally {
    dir.remove()
  }
})

test('a listing left behind by a crash is repaired from the change log at start-up', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const row = await d.create(ws, 'Before', 'x')
    await d.edit(row.id, (c) => {
      c.title = 'After'
    })
    await d.close()
    // Simulate a crash between the change commit and the listing update.
    await store.write(() => store.upsertDocument({ ...store.getDocument(row.id)!, title: 'Before', heads: [], changeCount: 1 }))
    const fresh = docs()
    assert.equal(fresh.repairListings(), 1)
    assert.equal(fresh.row(row.id).title, 'After', 'repaired at once for readers of the listing')
    // The repaired row reaches the database with the next commit, or at the latest when documents close.
    await fresh.close()
    assert.equal(store.getDocument(row.id)!.changeCount, 2)
    assert.deepEqual(store.getDocument(row.id)!.heads, fresh.heads(row.id))
    store.close()
  } finally {
    dir.remove()
  }
})

/**
 * One document in a fresh `Documents`; `elsewhere()` is a replica of it under another actor of this same
 * device (another session's), and `fromNetwork` makes its changes arrive as a teammate's would: sealed, signed, validated.
 */
async function oneDocument(dir: string) {
  const { store, device, workspaces, keys, docs } = await setup(dir)
  const ws = await workspaces.create('W', 'me')
  const d = docs()
  const row = await d.create(ws, 'T', '')
  const elsewhere = (): A.Doc<{ text: string }> => {
    const doc = A.load<{ text: string }>(d.hold(row.id).bytes, { actor: `${device.actorPrefix}00112233aabbccdd` })
    d.release(row.id)
    return doc
  }
  const fromNetwork = (bytes: Uint8Array): ValidChange => {
    const { item } = sealChange(device, keys.current(ws)!, ws, row.id, bytes, workspaces.heads(ws))
    const v = validateChange(ws, row.id, item, workspaces.judge(ws), keys.lookup(ws))
    assert.ok(!isRejection(v))
    return v
  }
  return { store, ws, d, row, elsewhere, fromNetwork }
}

test('remote changes are applied once however often they arrive, and out-of-order ones wait for their deps', async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, row, elsewhere, fromNetwork: valid } = await oneDocument(dir.path)
    let doc = elsewhere()
    const changes: Uint8Array[] = []
    for (const word of ['a', 'b', 'c', 'd']) {
      doc = A.change(doc, (x) => {
        A.splice(x, ['text'], x.text.length, 0, word)
      })
      changes.push(A.getLastLocalChange(doc)!)
    }
    // Last two first: they wait; then everything, twice.
    await d.ingest(ws, row.id, [valid(changes[3]!), valid(changes[2]!)])
    assert.equal(d.content(row.id).text, '')
    await d.ingest(ws, row.id, changes.map(valid))
    await d.ingest(ws, row.id, changes.map(valid))
    await d.settle()
    assert.equal(d.content(row.id).text, 'abcd')
    assert.equal(store.countChangesAfter(row.id, 0), 5, 'one create + four, each stored once')
    store.close()
  } finally {
    dir.remove()
  }
})

/**
 * A document typed into by a client of this device, on a clock where every reading is `passMs` after
 * the last: every pass applying deferred keystrokes "takes" that long.
 */
async function typedOnClock(dir: string, passMs: number) {
  let t = 0
  const fx = await documentsFixture(dir, { now: () => (t += passMs) })
  const ws = await fx.workspaces.create('W', 'me')
  const d = fx.docs()
  const row = await d.create(ws, 'T', 'hello')
  let mine = A.load<{ title: string; text: string }>(d.hold(row.id).bytes, { actor: `${fx.device.actorPrefix}00112233aabbccdd` })
  const type = async (at: number, text: string): Promise<void> => {
    mine = A.change(mine, (x) => A.splice(x, ['text'], at, 0, text))
    await d.applyClientChanges(row.id, [A.getLastLocalChange(mine)!], null)
  }
  return { ...fx, ws, d, row, type }
}

test('after a costly pass, deferred keystrokes wait longer; history counts what is applied without applying the rest, and the rest later', async () => {
  const dir = tempDir()
  try {
    // Every pass applying deferred keystrokes "takes" 100 ms.
    const { store, device, ws, d, row, type } = await typedOnClock(dir.path, 100)
    const history = new HistoryIndex({ store, documents: d, self: device.deviceId, readable: () => [ws], log: silentLog })
    history.start()
    await type(5, '!')
    assert.equal(d.deferred(row.id), 1)
    await waitFor('the first pass', () => d.deferred(row.id) === 0 || null, 2_000)
    // That pass took 100 ms by this clock, so the next keystroke waits 20 × 100 ms = 2 s, not 500 ms.
    const typed = Date.now()
    await type(6, '?')
    await new Promise((r) => setTimeout(r, 1_300))
    assert.equal(d.deferred(row.id), 1, 'still waiting 1.3 s after it was typed')
    // History counted meanwhile (a second after the first keystroke), up to what was applied, and applied nothing for it.
    const applied = A.getHeads(d.appliedAutomerge(row.id).doc)
    assert.deepEqual(store.historyHeads(row.id), applied, 'counted up to what was applied')
    assert.notDeepEqual(applied, d.heads(row.id), 'the keystroke waiting is not applied')
    await waitFor('the second pass', () => d.deferred(row.id) === 0 || null, 3_000)
    assert.ok(Date.now() - typed >= 1_900, `applied ${Date.now() - typed} ms after it was typed`)
    // Then a later count takes the rest.
    const all = d.heads(row.id)
    await waitFor(
      'history counted up to the last keystroke',
      () => JSON.stringify(store.historyHeads(row.id)) === JSON.stringify(all) || null,
      3_000,
    )
    const sessions = await history.sessions(row.id, 10)
    assert.equal(sessions.length, 1)
    assert.equal(sessions[0]!.inserted, 'hello!?'.length, 'every keystroke counted once')
    await history.stop()
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test("after a very costly pass, deferred keystrokes wait past 3 s (up to the search index's 10 s) unless something reads the document", async () => {
  const dir = tempDir()
  try {
    // Every pass "takes" 1 s, so 20 × that is past the bound.
    const { store, d, row, type } = await typedOnClock(dir.path, 1_000)
    await type(5, '!')
    await waitFor('the first pass', () => d.deferred(row.id) === 0 || null, 2_000)
    await type(6, '?')
    await new Promise((r) => setTimeout(r, 3_500))
    assert.equal(d.deferred(row.id), 1, 'still waiting 3.5 s after it was typed')
    assert.equal(d.content(row.id).text, 'hello!?', 'a read applies it at once')
    assert.equal(d.deferred(row.id), 0)
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('keystrokes wait to be applied together, and heads, the listing, reads, a title change and a restart all see them at once', async () => {
  const dir = tempDir()
  try {
    const { store, device, workspaces, keys, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const row = await d.create(ws, 'T', 'hello')
    let mine = A.load<{ title: string; text: string }>(d.hold(row.id).bytes, { actor: `${device.actorPrefix}00112233aabbccdd` })
    // Another session of this device, typing concurrently, whose changes arrive as if from the network.
    let theirs = A.clone(mine, { actor: `${device.actorPrefix}99887766aabbccdd` })
    const type = async (at: number, s: string): Promise<void> => {
      mine = A.change(mine, (x) => A.splice(x, ['text'], at, 0, s))
      await d.applyClientChanges(row.id, [A.getLastLocalChange(mine)!], null)
    }
    await type(5, ' w')
    await type(7, 'o')
    assert.ok(d.deferred(row.id) >= 1, 'keystrokes wait to be applied')
    assert.deepEqual(d.heads(row.id), A.getHeads(mine), 'heads are known without applying them')
    theirs = A.change(theirs, (x) => A.splice(x, ['text'], 0, 0, '> '))
    const { item } = sealChange(device, keys.current(ws)!, ws, row.id, A.getLastLocalChange(theirs)!, workspaces.heads(ws))
    const v = validateChange(ws, row.id, item, workspaces.judge(ws), keys.lookup(ws))
    assert.ok(!isRejection(v))
    await d.ingest(ws, row.id, [v])
    await d.settle()
    mine = A.merge(mine, theirs)
    assert.ok(d.deferred(row.id) >= 2, 'a concurrent keystroke waits too')
    assert.equal(d.heads(row.id).length, 2)
    assert.deepEqual(d.heads(row.id), A.getHeads(mine))
    assert.deepEqual(d.list(ws)[0]!.heads, A.getHeads(mine), 'the listing shows the heads at once')
    // A read applies them.
    assert.equal(d.content(row.id).text, '> hello wo')
    assert.equal(d.deferred(row.id), 0)
    // A title edit is applied at once: the listing shows it.
    mine = A.change(mine, (x) => A.splice(x, ['title'], 1, 0, 'itle'))
    await d.applyClientChanges(row.id, [A.getLastLocalChange(mine)!], null)
    assert.equal(d.deferred(row.id), 0)
    assert.equal(d.list(ws)[0]!.title, 'Title')
    // With nobody reading, they are applied within a second.
    await type(10, 'r')
    assert.equal(d.deferred(row.id), 1)
    await waitFor('deferred keystrokes applied by the timer', () => d.deferred(row.id) === 0 || null, 2_000)
    assert.deepEqual(A.getHeads(d.automerge(row.id)), A.getHeads(mine))
    // And after a restart the store gives the same document.
    await type(11, 'ld')
    d.release(row.id)
    await d.close()
    const again = docs()
    assert.equal(again.content(row.id).text, '> hello world')
    assert.deepEqual(again.heads(row.id), A.getHeads(mine))
    await again.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('an edit costs one commit: its listing row rides with the next commit, or is written within a second', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await setup(dir.path)
    const ws = await workspaces.create('W', 'me')
    const d = docs()
    const row = await d.create(ws, 'T', '')
    await d.close()
    const edits = 20
    const before = store.commits
    let text = ''
    for (let i = 0; i < edits; i++) {
      text += `${i} `
      await d.edit(row.id, (c) => setText(c, text))
    }
    assert.equal(store.commits - before, edits, 'one commit per edit, none for the listing')
    assert.equal(d.row(row.id).changeCount, 21, 'the listing is current at once')
    // The last edit's row is not in the database yet; it is written on its own within a second.
    await waitFor('the last listing row in the database', () => store.getDocument(row.id)!.changeCount === 21, 3_000)
    assert.equal(store.commits - before, edits + 1)
    store.close()
  } finally {
    dir.remove()
  }
})

test("a client's typing writes its listing row about once a second, not with every keystroke; a teammate's change writes it with its commit", async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, row, elsewhere, fromNetwork } = await oneDocument(dir.path)
    await d.close()
    let mine = elsewhere()
    const stored = (): number => store.getDocument(row.id)!.changeCount
    const started = performance.now()
    const keys0 = 20
    for (let i = 0; i < keys0; i++) {
      mine = A.change(mine, (x) => A.splice(x, ['text'], i, 0, 'x'))
      await d.applyClientChanges(row.id, [A.getLastLocalChange(mine)!], null)
    }
    assert.equal(d.row(row.id).changeCount, 1 + keys0, 'the listing is current at once')
    // Typed within a second of the first key: no commit carried the row yet (a slower machine may have reached the second).
    if (performance.now() - started < 900) assert.equal(stored(), 1, 'the row waits while the client types')
    await waitFor('the row in the database', () => stored() === 1 + keys0, 3_000)
    // A teammate's change (another device's actor would do the same) is in the listing row as soon as it is stored.
    const other = A.change(mine, (x) => A.splice(x, ['text'], 0, 0, 'T'))
    await d.ingest(ws, row.id, [fromNetwork(A.getLastLocalChange(other)!)])
    await d.settle()
    assert.equal(stored(), 2 + keys0, "a teammate's change is in the stored row at once")
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test("teammates' live keystrokes are shown at once and commit together within REMOTE_COMMIT_WITHIN_MS; catch-up's commit in their turn; a client's edit, or catch-up about to read the log, takes them along", async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, row, elsewhere, fromNetwork } = await oneDocument(dir.path)
    await d.settle()
    let theirs = elsewhere()
    const key = (s: string): ValidChange => {
      theirs = A.change(theirs, (x) => A.splice(x, ['text'], x.text.length, 0, s))
      return fromNetwork(A.getLastLocalChange(theirs)!)
    }
    const inLog = (): number => store.countChangesAfter(row.id, 0)
    const shown: number[] = []
    d.on('changes', (docId: string, changes: Uint8Array[]) => docId === row.id && shown.push(changes.length))
    d.hold(row.id) // a client has it open: its changes are shown
    const commits = store.commits
    const started = performance.now()
    // Three keystrokes as they come live, further apart than batchMs: each is applied and shown at once.
    const done: Promise<void>[] = []
    for (const s of ['a', 'b', 'c']) {
      done.push(d.ingest(ws, row.id, [key(s)], true))
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.equal(d.content(row.id).text, 'abc', 'applied at once')
    assert.equal(shown.length, 3, 'each shown as it came')
    if (performance.now() - started < REMOTE_COMMIT_WITHIN_MS - 50) {
      assert.equal(inLog(), 1, 'not committed yet (a slow machine may have reached the commit)')
      assert.equal(store.commits, commits)
    }
    await Promise.all(done)
    assert.equal(inLog(), 4, 'all three committed')
    assert.ok(store.commits - commits <= 2, `in one commit, two on a slow machine (${store.commits - commits})`)
    // What catch-up brings commits in its turn: its session waits on it.
    const beforeCatchup = store.commits
    const t0 = performance.now()
    await d.ingest(ws, row.id, [key('d')])
    assert.ok(performance.now() - t0 < REMOTE_COMMIT_WITHIN_MS, 'not held back')
    assert.equal(inLog(), 5)
    assert.equal(store.commits, beforeCatchup + 1)
    // A live keystroke, then the client's own edit: the edit's commit takes the keystroke along, at once.
    const live = d.ingest(ws, row.id, [key('e')], true)
    await new Promise((r) => setTimeout(r, 20))
    let mine = A.clone(theirs, { actor: `${A.getActorId(theirs).slice(0, -16)}99887766aabbccdd` })
    mine = A.change(mine, (x) => A.splice(x, ['text'], 0, 0, '>'))
    const t1 = performance.now()
    await d.applyClientChanges(row.id, [A.getLastLocalChange(mine)!], null)
    await live
    assert.ok(performance.now() - t1 < REMOTE_COMMIT_WITHIN_MS, 'the keystroke committed with the edit')
    assert.equal(inLog(), 7)
    // Catch-up, before it reads the log for a peer, commits what waits (`commitWaiting`), at once.
    const waiting = d.ingest(ws, row.id, [key('f')], true)
    await new Promise((r) => setTimeout(r, 20))
    const t2 = performance.now()
    await d.commitWaiting()
    assert.ok(performance.now() - t2 < REMOTE_COMMIT_WITHIN_MS, 'committed at once')
    assert.equal(inLog(), 8)
    await waiting
    await d.commitWaiting() // nothing waits: resolves without a commit
    d.release(row.id)
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a short history holding a long text (a paste) gets a snapshot when it leaves memory, and reads from it after a restart', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await documentsFixture(dir.path, { firstSnapshotAfter: 64 })
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const pasted = Array.from({ length: 600 }, (_, i) => `line ${i}`).join('\n')
    const doc = await first.create(ws, 'Pasted', '')
    await first.edit(doc.id, (d) => setText(d, pasted))
    const heads = first.heads(doc.id)
    await first.close()
    const snap = store.getSnapshotContent(doc.id)
    assert.ok(snap, `two changes of ${pasted.length} characters: a snapshot`)
    assert.equal(store.countChangesAfter(doc.id, snap.upToSeq), 0)
    const second = docs()
    assert.deepEqual(second.content(doc.id), { title: 'Pasted', text: pasted, deleted: false, heads })
    await second.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a short note gets no snapshot when it leaves memory, a longer history does; both read the same after a restart', async () => {
  const dir = tempDir()
  try {
    const { store, workspaces, docs } = await documentsFixture(dir.path, { firstSnapshotAfter: 64 })
    const ws = await workspaces.create('W', 'me')
    const first = docs()
    const note = await first.create(ws, 'Note', 'short')
    await first.edit(note.id, (d) => setText(d, 'short and sweet'))
    const long = await first.create(ws, 'Long', '')
    let text = ''
    for (let i = 0; i < 70; i++) {
      text += `${i} `
      await first.edit(long.id, (d) => setText(d, text))
    }
    const heads = [first.heads(note.id), first.heads(long.id)]
    await first.close()
    assert.equal(store.getSnapshot(note.id), undefined, 'two changes: no snapshot')
    assert.ok(store.getSnapshot(long.id), '71 changes: a snapshot')
    const second = docs()
    assert.deepEqual(second.content(note.id), { title: 'Note', text: 'short and sweet', deleted: false, heads: heads[0] })
    assert.deepEqual(second.content(long.id), { title: 'Long', text, deleted: false, heads: heads[1] })
    const held = second.hold(note.id)
    assert.equal(A.load<{ text: string }>(held.bytes).text, 'short and sweet')
    second.release(note.id)
    // Loaded again and stopped again: still none for the note (it gained no history).
    await second.close()
    assert.equal(store.getSnapshot(note.id), undefined)
    store.close()
  } finally {
    dir.remove()
  }
})
