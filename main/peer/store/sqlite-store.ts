/**
 * The profile database: better-sqlite3, WAL, one connection, the schema's tables and their queries. Its
 * writes are durable when they resolve: group commits with the WAL's fsync off the event loop, and
 * checkpoints likewise, are durable-writes.ts's job. Opening checks the file (a damaged or foreign file is
 * refused without a byte written, an unclean stop runs an integrity check) and migrates it in place.
 */
import Database from 'better-sqlite3'
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs'
import type { Role } from '../../../shared/types.ts'
import { StoreError } from './errors.ts'
import { DurableWrites, type DurableWritesOptions } from './durable-writes.ts'
import { MIGRATIONS, VACUUM_AFTER_MIGRATION } from './migrations.ts'
import { Interned } from './interned.ts'
import { PRIVATE_FILE_MODE, tighten } from './profile-lock.ts'
import type {
  ChangeRecord,
  ChangeRow,
  CoverRecord,
  DocumentRow,
  HistorySessionRow,
  InviteRow,
  MemberRow,
  PeerRow,
  PeerStore,
  ReadRow,
  SearchRow,
  SignedRecord,
  SnapshotContent,
  SnapshotRow,
  WorkspaceRow,
} from './types.ts'

const SQLITE_HEADER = 'SQLite format 3\0'
/** An invite nothing has closed yet (expiry aside: that is checked against the clock). */
const OPEN_INVITE = 'used_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL'

/** A row of our own schema; its columns are known from migrations.ts. */
// biome-ignore lint/suspicious/noExplicitAny: rows of our own schema; each reader names the columns it maps
type Row = Record<string, any>

/** Refuses, without writing a byte, a file that is not a healthy SQLite database. */
function checkFileBeforeOpen(path: string): void {
  if (!existsSync(path)) return
  const size = statSync(path).size
  if (size === 0) return
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(16)
    readSync(fd, head, 0, 16, 0)
    if (head.toString('latin1') !== SQLITE_HEADER) {
      throw new StoreError('corrupt', path, `${path} is not a Grapevine database (no SQLite header). It was left untouched.`)
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Beside the database, what it was when the store last closed cleanly (written after the close, removed
 * at the next open). quick_check reads every page, which takes time in proportion to the profile: 0.28 s
 * for a 190 MB file in the page cache here, 3.7 s after the cache was dropped (a first start after boot).
 * So the check runs only when there is reason to doubt the file: the last stop was not clean (no record),
 * or the file is not the one the store left (another size, time of change or inode: something else wrote
 * it, or it was copied or restored). Damage that keeps all three (a bad disk block) is not looked for at
 * open; SQLite reports it as SQLITE_CORRUPT when the page is read, as it does for damage that comes later.
 */
const CLEAN_STOP_SUFFIX = '-clean'

/** The identity of the database file as the store left it. */
function fileStamp(path: string): string | undefined {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false })
  return s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}` : undefined
}

/** Records that the store closed cleanly, with the file's identity (best effort: without it the next open checks). */
function recordCleanStop(path: string): void {
  const stamp = fileStamp(path)
  if (stamp === undefined || existsSync(`${path}-wal`)) return
  try {
    writeFileSync(path + CLEAN_STOP_SUFFIX, stamp, { mode: PRIVATE_FILE_MODE })
  } catch {
    // The next open checks the file.
  }
}

/**
 * Whether the last stop was clean and the file is still the one the store left; the record is removed
 * either way, before anything is written, so that a stop that is not clean leaves none.
 */
function readCleanStop(path: string): boolean {
  const record = path + CLEAN_STOP_SUFFIX
  let stamp: string
  try {
    stamp = readFileSync(record, 'utf8')
  } catch {
    return false
  }
  rmSync(record, { force: true })
  return !existsSync(`${path}-wal`) && stamp === fileStamp(path)
}

/**
 * Runs SQLite's quick_check on a read-only connection, so that a damaged file (and any WAL a crash
 * left beside it) is refused without a byte written: a read-write close would checkpoint the WAL into it.
 * Returns whether it ran (not for a new or empty file).
 */
function checkIntegrityReadOnly(path: string): boolean {
  if (!existsSync(path) || statSync(path).size === 0) return false
  // A read-only connection to a WAL database creates empty -wal/-shm files if there are none; remove only those.
  const created = ['-wal', '-shm'].map((s) => path + s).filter((p) => !existsSync(p))
  let db: Database.Database | undefined
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 })
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new Error(String(check))
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreError('locked', path, `${path} is in use by another program.`, err)
    }
    throw new StoreError(
      'corrupt',
      path,
      `${path} is damaged (${(err as Error).message}). It was left untouched; restore it from a backup or move it away to start fresh.`,
      err,
    )
  } finally {
    db?.close()
    for (const p of created) rmSync(p, { force: true })
  }
  return true
}

/**
 * Makes the database and its side files private (0600) before SQLite opens them. SQLite creates the
 * main file 0644 (less the umask), but gives a new -wal, -journal and -shm the main file's own mode
 * (unixOpen/findCreateFileMode, unixOpenSharedMemory): so the main file is created 0600 here, and
 * whatever exists is tightened. Setting the process umask instead is not an option: the peer may
 * run in a worker thread (tests), where process.umask(mask) throws, and the umask is process-wide.
 */
function makePrivate(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE_FILE_MODE))
  for (const suffix of ['', '-wal', '-shm', '-journal']) tighten(path + suffix, PRIVATE_FILE_MODE)
}

export class SqliteStore implements PeerStore {
  readonly path: string
  private readonly db: Database.Database
  /** Group commits, the WAL's fsync and checkpoints (durable-writes.ts): every write goes through it. */
  private readonly writes: DurableWrites
  /**
   * Whether the store last closed cleanly and nothing wrote the file since (CLEAN_STOP_SUFFIX): what the
   * peer kept in memory and wrote lazily (listing rows) was written then, so nothing lags the change log.
   */
  readonly closedCleanly: boolean
  /** Whether this open ran SQLite's integrity check (when it did not close cleanly, and the file is not new). */
  readonly integrityChecked: boolean

  constructor(path: string, options: DurableWritesOptions = {}) {
    this.path = path
    checkFileBeforeOpen(path)
    this.closedCleanly = readCleanStop(path)
    this.integrityChecked = !this.closedCleanly && checkIntegrityReadOnly(path)
    try {
      makePrivate(path)
      this.db = new Database(path, { timeout: 0 })
    } catch (err) {
      throw new StoreError('unreadable', path, `Cannot open ${path}: ${(err as Error).message}`, err)
    }
    const version = this.db.pragma('user_version', { simple: true }) as number
    if (version > MIGRATIONS.length) {
      this.db.close()
      throw new StoreError(
        'too-new',
        path,
        `${path} was written by a newer Grapevine (schema ${version}, this one knows ${MIGRATIONS.length}).`,
      )
    }
    // Pages freed (a run replacing the changes it holds, a snapshot or an index row rewritten) are given
    // back to the file system when the store closes (incremental_vacuum in close). A new file is made so
    // here; an older one when the one VACUUM after the migrations rebuilds it.
    if (version === 0) this.db.pragma('auto_vacuum = INCREMENTAL')
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    this.migrate(version)
    // A migration that copied a table leaves its old pages free: given back to the file system once.
    if (version > 0 && version < VACUUM_AFTER_MIGRATION && MIGRATIONS.length >= VACUUM_AFTER_MIGRATION) {
      this.db.pragma('auto_vacuum = INCREMENTAL')
      try {
        this.db.exec('VACUUM')
      } catch {
        // It needs room for a copy of the file: without it the file keeps its free pages (nothing is lost,
        // and SQLite reuses them), and is not made incremental.
      }
    }
    // From here commits hand their frames to the OS and the WAL is synced off the thread (see the top).
    this.db.pragma('wal_autocheckpoint = 0')
    this.db.pragma('synchronous = OFF')
    // Once a checkpoint has copied every frame and the pin is gone, the next commit starts the WAL over and
    // cuts the file back to what it wrote, so that the WAL's size says again how much is not checkpointed.
    this.db.pragma('journal_size_limit = 0')
    this.writes = new DurableWrites(this.db, path, options)
    const afterCommit = (fn: () => void): void => this.writes.afterCommit(fn)
    const hex = (v: string | Buffer): string => hexOf(v as Buffer)
    const text = (v: string | Buffer): string => v as string
    const bytes = (key: string): Buffer => Buffer.from(key, 'hex')
    this.authors = new Interned(this.db, { table: 'authors', column: 'device', toColumn: (k) => k, fromColumn: text }, afterCommit)
    this.docKeys = new Interned(this.db, { table: 'doc_keys', column: 'doc', toColumn: (k) => k, fromColumn: text }, afterCommit)
    this.epochs = new Interned(this.db, { table: 'epochs', column: 'epoch', toColumn: bytes, fromColumn: hex }, afterCommit)
    // Membership heads by their hashes' hex, concatenated.
    this.mstates = new Interned(this.db, { table: 'mstates', column: 'heads', toColumn: bytes, fromColumn: hex }, afterCommit)
  }

  /** The change log's numbered values (migrations 13 and 14, interned.ts). */
  private readonly authors: Interned
  private readonly docKeys: Interned
  private readonly epochs: Interned
  private readonly mstates: Interned

  write<T>(fn: () => T): Promise<T> {
    return this.writes.write(fn)
  }

  writeNow<T>(fn: () => T): Promise<T> {
    return this.writes.writeNow(fn)
  }

  writeSoon<T>(fn: () => T, withinMs: number): Promise<T> {
    return this.writes.writeSoon(fn, withinMs)
  }

  commitQueued(): Promise<void> {
    return this.writes.commitQueued()
  }

  /** Group commits (transactions, each one fsync) made so far: what a write path costs. */
  get commits(): number {
    return this.writes.commits
  }

  /** fsyncs of the WAL made so far (tests look: a write resolves only after one). */
  get syncs(): number {
    return this.writes.syncs
  }

  /** Checkpoints made while running (not counting the one on close). */
  get checkpoints(): number {
    return this.writes.checkpoints
  }

  private migrate(from: number): void {
    for (let i = from; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]!)
        this.db.pragma(`user_version = ${i + 1}`)
      })()
    }
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number
  }

  private readonly statements = new Map<string, Database.Statement>()
  /** A statement prepared once per text and kept: preparing is most of a point query's cost. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text)
    if (!st) {
      st = this.db.prepare(text)
      this.statements.set(text, st)
    }
    return st
  }

  /** Commits what is queued, makes it durable, checkpoints the WAL into the database and empties it, and closes. */
  close(): void {
    if (this.writes.isClosed) return
    if (this.writes.close(() => this.db.pragma('incremental_vacuum'))) recordCleanStop(this.path)
  }
  /**
   * Runs `fn` (which deletes or overwrites a secret) so that the old bytes are gone from the files
   * too, not only from the rows: secure_delete zeroes the space it frees, VACUUM then rebuilds every
   * page from the live rows (older copies in free pages or fragments are overwritten), and a TRUNCATE
   * checkpoint writes it all into the main file and empties the WAL, which held older page images.
   * The -shm holds only the WAL's index, never page content. Not for the hot path: VACUUM rewrites
   * the whole file. (Copies the file system or an SSD keep in blocks it has freed are out of reach.)
   */
  eraseSecretly(fn: () => void): void {
    this.writes.quiesce() // writes queued before this one commit first; the pin's connection would keep the WAL from being emptied
    this.db.pragma('synchronous = FULL')
    this.db.pragma('secure_delete = ON')
    try {
      this.db.transaction(fn)()
      this.db.exec('VACUUM')
    } finally {
      this.db.pragma('secure_delete = OFF')
    }
    let result: { busy: number } | undefined
    try {
      ;[result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[]
    } finally {
      this.db.pragma('synchronous = OFF')
    }
    const wal = `${this.path}-wal`
    if (result?.busy !== 0 || (existsSync(wal) && statSync(wal).size > 0)) {
      throw new Error(`${this.path}: its WAL could not be emptied (another connection reads it); it may still hold erased bytes`)
    }
  }

  getMeta(key: string): Buffer | undefined {
    const row = this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: Buffer | string } | undefined
    if (row === undefined) return undefined
    return typeof row.value === 'string' ? Buffer.from(row.value, 'utf8') : row.value
  }

  metaWithPrefix(prefix: string): [key: string, value: Buffer][] {
    // The range [prefix, prefix + U+10FFFF) holds exactly the keys that start with it, and reads the key's index.
    const rows = this.sql('SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key').all(prefix, `${prefix}\u{10FFFF}`) as {
      key: string
      value: Buffer | string
    }[]
    return rows.map((r) => [r.key, typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value])
  }

  setMeta(key: string, value: Uint8Array | string): void {
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
    this.sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, v)
  }

  putWorkspace(row: WorkspaceRow): void {
    this.sql(`INSERT INTO workspaces (id, name, owner_id, created_at, joined_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET name = excluded.name`).run(row.id, row.name, row.ownerId, row.createdAt, row.joinedAt)
  }

  getWorkspace(id: string): WorkspaceRow | undefined {
    const r = this.sql('SELECT * FROM workspaces WHERE id = ?').get(id) as Row | undefined
    return r && workspaceFromRow(r)
  }

  listWorkspaces(): WorkspaceRow[] {
    return (this.sql('SELECT * FROM workspaces ORDER BY created_at').all() as Row[]).map(workspaceFromRow)
  }

  addMembershipOps(workspaceId: string, ops: SignedRecord[], arrivedAt: number): number {
    const insert = this.sql(`INSERT OR IGNORE INTO membership_ops (workspace_id, hash, author, signature, bytes, arrived_at)
      VALUES (?, ?, ?, ?, ?, ?)`)
    let added = 0
    for (const op of ops) added += insert.run(workspaceId, op.hash, op.author, op.signature, op.bytes, arrivedAt).changes
    return added
  }

  listMembershipOps(workspaceId: string): SignedRecord[] {
    return (
      this.sql('SELECT hash, author, signature, bytes FROM membership_ops WHERE workspace_id = ? ORDER BY arrived_at, hash').all(
        workspaceId,
      ) as SignedRecord[]
    ).map((r) => ({ ...r }))
  }

  replaceMembers(workspaceId: string, members: MemberRow[]): void {
    this.sql('DELETE FROM members WHERE workspace_id = ?').run(workspaceId)
    const insert = this.sql(`INSERT INTO members (workspace_id, device_id, public_key, name, role, added_by, added_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`)
    for (const m of members) insert.run(workspaceId, m.deviceId, m.publicKey, m.name, m.role, m.addedBy, m.addedAt)
  }

  listMembers(workspaceId: string): MemberRow[] {
    return (this.sql('SELECT * FROM members WHERE workspace_id = ? ORDER BY added_at, device_id').all(workspaceId) as Row[]).map((r) => ({
      workspaceId: r['workspace_id'],
      deviceId: r['device_id'],
      publicKey: r['public_key'],
      name: r['name'],
      role: r['role'] as Role,
      addedBy: r['added_by'],
      addedAt: r['added_at'],
    }))
  }

  upsertDocument(row: DocumentRow): void {
    this.sql(`INSERT INTO documents (id, workspace_id, title, heads, created_at, last_change_at, last_change_by, deleted, change_count,
        last_remote_at)
      VALUES (@id, @workspaceId, @title, @heads, @createdAt, @lastChangeAt, @lastChangeBy, @deleted, @changeCount, @lastRemoteAt)
      ON CONFLICT(id) DO UPDATE SET title = excluded.title, heads = excluded.heads, last_change_at = excluded.last_change_at,
        last_change_by = excluded.last_change_by, deleted = excluded.deleted, change_count = excluded.change_count,
        last_remote_at = excluded.last_remote_at`).run({ ...row, heads: JSON.stringify(row.heads), deleted: row.deleted ? 1 : 0 })
  }

  getDocument(id: string): DocumentRow | undefined {
    const r = this.sql('SELECT * FROM documents WHERE id = ?').get(id) as Row | undefined
    return r && documentFromRow(r)
  }

  /** Documents' workspaces as read (`documentWorkspace`): a document's never changes, and its row is never removed. */
  private readonly documentWorkspaces = new Map<string, string>()

  documentWorkspace(id: string): string | undefined {
    const known = this.documentWorkspaces.get(id)
    if (known !== undefined) return known
    const ws = (this.sql('SELECT workspace_id FROM documents WHERE id = ?').get(id) as { workspace_id: string } | undefined)?.workspace_id
    // Kept once what read it has committed: a row written inside a transaction may yet be rolled back.
    if (ws !== undefined) this.writes.afterCommit(() => this.documentWorkspaces.set(id, ws))
    return ws
  }

  listDocuments(workspaceId: string): DocumentRow[] {
    return (this.sql('SELECT * FROM documents WHERE workspace_id = ? ORDER BY last_change_at DESC, id').all(workspaceId) as Row[]).map(
      documentFromRow,
    )
  }

  /**
   * A row's columns (after `seq`) as stored: its document, author, membership heads and epoch as their numbers,
   * each asked of `number` (`numbering`).
   */
  private changeValues(
    number: (t: Interned, key: string) => number,
    docId: string,
    c: ChangeRecord,
    row: Omit<ChangeRow, 'seq'>,
    arrivedAt: number,
  ): unknown[] {
    return [
      number(this.docKeys, docId),
      hashBlob(c.hash),
      number(this.authors, c.author),
      c.signature,
      c.bytes,
      arrivedAt,
      row.m === null ? null : number(this.mstates, row.m.join('')),
      row.epoch === null ? null : number(this.epochs, row.epoch),
      blobOf(row.deps),
      row.n,
    ]
  }

  /**
   * Numbers for the rows of one call, each value looked up once: a value new in this write has its number
   * kept in memory only once the write commits (interned.ts), and 10,000 rows of a new document took 2 more
   * statements each until then.
   */
  private numbering(): (t: Interned, key: string) => number {
    const memo = new Map<Interned, Map<string, number>>()
    return (t, key) => {
      const known = memo.get(t) ?? new Map<string, number>()
      memo.set(t, known)
      const n = known.get(key) ?? t.numberOf(key)
      known.set(key, n)
      return n
    }
  }

  /** A change row as read (`CHANGE_COLUMNS`). */
  private changeFromRow(r: Row): ChangeRow {
    return {
      seq: r['seq'],
      docId: this.docKeys.keyOf(r['doc']),
      hash: hexOf(r['hash']),
      author: this.authors.keyOf(r['author']),
      signature: r['signature'],
      bytes: r['bytes'],
      m: r['m'] === null ? null : headsFromHex(this.mstates.keyOf(r['m'])),
      epoch: r['epoch'] === null ? null : this.epochs.keyOf(r['epoch']),
      deps: headsFromBlob(r['deps']),
      n: r['n'],
      cover: r['cover'],
      arrivedAt: r['arrived_at'],
    }
  }

  appendChanges(docId: string, changes: ChangeRecord[], arrivedAt: number): ChangeRow[] {
    const insert = this.sql(`INSERT OR IGNORE INTO changes (${CHANGE_INSERT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    const added: ChangeRow[] = []
    const number = this.numbering()
    for (const c of changes) {
      const row = recordRow(docId, c, arrivedAt)
      const values = this.changeValues(number, docId, c, row, arrivedAt)
      let res = insert.run(...values)
      if (res.changes === 0 && row.n > 1) res = this.runOverAlone(docId, c.hash, values)
      if (res.changes === 1) added.push({ ...row, seq: Number(res.lastInsertRowid) })
    }
    return added
  }

  /**
   * A run (sync/runs.ts) whose last change the log holds as a row of that change alone (sent alone, or a
   * cover's row): the run takes the row's place, at the end of the log (a new seq, so that nothing read up
   * to the old one, a snapshot included, counts it as read). Kept as it was, the rest of the run would be
   * applied and never stored, and lost at the next load. An honest author never sends both (a change that
   * left alone stays so), but one of an older version could (it covered changes it then sealed into a run:
   * convergence seed 1928512763), and a device may lie. A run over a run, or a change over a run, stays out.
   */
  private runOverAlone(docId: string, hash: string, values: unknown[]): { changes: number; lastInsertRowid: number | bigint } {
    const dropped = this.sql(`DELETE FROM changes WHERE doc = ${DOC_KEY} AND hash = ? AND n = 1 RETURNING seq`).get(
      docId,
      hashBlob(hash),
    ) as { seq: number } | undefined
    if (!dropped) return { changes: 0, lastInsertRowid: 0 }
    const last = (this.sql('SELECT max(seq) AS seq FROM changes').get() as { seq: number | null }).seq ?? 0
    return this.sql(`INSERT INTO changes (seq, ${CHANGE_INSERT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      Math.max(last, dropped.seq) + 1,
      ...values,
    )
  }

  replaceWithRun(docId: string, hashes: string[], run: ChangeRecord, arrivedAt: number): ChangeRow {
    const seqOf = this.sql(`SELECT seq FROM changes WHERE doc = ${DOC_KEY} AND hash = ?`)
    const drop = this.sql('DELETE FROM changes WHERE seq = ?')
    let at: number | null = null
    for (const h of hashes) {
      const r = seqOf.get(docId, hashBlob(h)) as { seq: number } | undefined
      if (!r) continue
      drop.run(r.seq)
      at = Math.max(at ?? 0, r.seq)
    }
    const row = recordRow(docId, run, arrivedAt)
    const res = this.sql(`INSERT INTO changes (seq, ${CHANGE_INSERT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      at,
      ...this.changeValues(this.numbering(), docId, run, row, arrivedAt),
    )
    return { ...row, seq: Number(res.lastInsertRowid) }
  }

  putCover(
    docId: string,
    cover: CoverRecord,
    covered: readonly { hash: string; deps: string[] }[],
    arrivedAt: number,
    replace: boolean,
  ): { id: number; added: ChangeRow[]; replaced: number } {
    const number = this.numbering()
    const doc = number(this.docKeys, docId)
    const author = number(this.authors, cover.author)
    let id = (this.sql('SELECT id FROM covers WHERE doc = ? AND signature = ?').get(doc, cover.signature) as { id: number } | undefined)?.id
    if (id === undefined) {
      const res = this.sql('INSERT INTO covers (doc, author, signature, bytes, m, epoch, d, k, kd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        doc,
        author,
        cover.signature,
        cover.bytes,
        cover.m === null ? null : number(this.mstates, cover.m.join('')),
        number(this.epochs, cover.epoch),
        blobOf(cover.deps),
        cover.k,
        cover.kd,
      )
      id = Number(res.lastInsertRowid)
    }
    type Held = { seq: number; author: number; n: number; cover: number | null; signed: number }
    const heldOf = this.heldRows(doc, covered.length)
    const insert = this.sql(`INSERT INTO changes (${CHANGE_INSERT}, cover) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    const added: ChangeRow[] = []
    const taken: number[] = []
    const none = new Uint8Array(0)
    for (const c of covered) {
      const r = heldOf(c.hash) as Held | undefined
      if (r) {
        // Only an envelope of the cover's author, carrying itself: never a run, an unsigned change or another cover's row.
        if (replace && r.author === author && r.n === 1 && r.cover === null && r.signed > 0) taken.push(r.seq)
        continue
      }
      const record: ChangeRecord = {
        hash: c.hash,
        author: cover.author,
        signature: none,
        bytes: none,
        m: cover.m,
        epoch: cover.epoch,
        deps: c.deps,
      }
      const row = { ...recordRow(docId, record, arrivedAt), cover: id }
      const res = insert.run(...this.changeValues(number, docId, record, row, arrivedAt), id)
      added.push({ ...row, seq: Number(res.lastInsertRowid) })
    }
    this.shrinkToCover(id, taken)
    return { id, added, replaced: taken.length }
  }

  /**
   * The envelopes at `seqs` become rows of cover `id`: their sealed change and signature go (the cover carries
   * them), each keeps its place in the log (its seq), hash, deps and the rest. A row shrinks so from about 430
   * bytes to about 100. Updated in place, SQLite would leave their pages three quarters empty for good: it
   * merges a b-tree's pages when rows are deleted, not when they shrink (a reader's 2,000 covered keys kept
   * 168 pages of the log with 500 KB of them unused). So they are deleted, and the emptied pages go to the
   * free list (given back to the file system when the store closes: `incremental_vacuum`), then written back
   * with the same seq, packed. Every column is carried but the two that go: a column a migration adds to the
   * log must be added here (sqlite-store.test.ts compares every stored column before and after).
   */
  private shrinkToCover(id: number, seqs: readonly number[]): void {
    if (seqs.length === 0) return
    const take = this.sql('DELETE FROM changes WHERE seq = ? RETURNING seq, doc, hash, author, arrived_at, m, epoch, deps, n')
    const put = this.sql(
      "INSERT INTO changes (seq, doc, hash, author, signature, bytes, arrived_at, m, epoch, deps, n, cover) VALUES (?, ?, ?, ?, x'', x'', ?, ?, ?, ?, ?, ?)",
    )
    type Kept = {
      seq: number
      doc: number
      hash: Buffer
      author: number
      arrived_at: number
      m: number | null
      epoch: number | null
      deps: Buffer | null
      n: number
    }
    const kept = seqs.map((seq) => take.get(seq) as Kept)
    for (const r of kept) put.run(r.seq, r.doc, r.hash, r.author, r.arrived_at, r.m, r.epoch, r.deps, r.n, id)
  }

  /**
   * Looks up rows of document `doc` (its number) by hash, for `many` lookups: one pass over the document's
   * rows when they are few beside those (a cover of a teammate's keys, mostly new here), else a lookup each.
   */
  private heldRows(doc: number, many: number): (hash: string) => Row | undefined {
    const columns = 'seq, hash, author, n, cover, length(signature) AS signed'
    const rows = (this.sql('SELECT count(*) AS n FROM changes WHERE doc = ?').get(doc) as { n: number }).n
    if (many >= SCAN_AT_HASHES && rows < many * SCAN_ROWS_PER_HASH) {
      const byHash = new Map<string, Row>()
      for (const r of this.sql(`SELECT ${columns} FROM changes WHERE doc = ?`).all(doc) as Row[]) byHash.set(hexOf(r['hash']), r)
      return (hash) => byHash.get(hash)
    }
    const one = this.sql(`SELECT ${columns} FROM changes WHERE doc = ? AND hash = ?`)
    return (hash) => one.get(doc, hashBlob(hash)) as Row | undefined
  }

  getCover(id: number): CoverRecord | undefined {
    const r = this.sql('SELECT author, signature, bytes, m, epoch, d, k, kd FROM covers WHERE id = ?').get(id) as Row | undefined
    if (!r) return undefined
    return {
      author: this.authors.keyOf(r['author']),
      signature: r['signature'],
      bytes: r['bytes'],
      epoch: this.epochs.keyOf(r['epoch']),
      m: r['m'] === null ? null : headsFromHex(this.mstates.keyOf(r['m'])),
      deps: headsFromBlob(r['d']) ?? [],
      k: r['k'],
      kd: r['kd'],
    }
  }

  coverable(docId: string, author: string): ChangeRow[] {
    return (
      this.sql(
        `SELECT ${CHANGE_COLUMNS} WHERE c.doc = ${DOC_KEY} AND c.author = (SELECT id FROM authors WHERE device = ?) AND c.n = 1 AND c.cover IS NULL AND length(c.signature) > 0
          AND c.epoch IS NOT NULL AND c.m IS NOT NULL ORDER BY c.seq`,
      ).all(docId, author) as Row[]
    ).map((r) => this.changeFromRow(r))
  }

  removeChanges(docId: string, hashes: readonly string[]): number {
    const drop = this.sql(`DELETE FROM changes WHERE doc = ${DOC_KEY} AND hash = ?`)
    let removed = 0
    for (const h of hashes) removed += drop.run(docId, hashBlob(h)).changes
    return removed
  }

  hasChange(docId: string, hash: string): boolean {
    return this.sql(`SELECT 1 FROM changes WHERE doc = ${DOC_KEY} AND hash = ?`).get(docId, hashBlob(hash)) !== undefined
  }

  /**
   * The rows of `hashes`, in their order (a hash with no row is skipped). Few hashes are looked up one by
   * one; many, against a document with fewer rows, are found by one pass over the document's (hash, seq)
   * index. A teammate catching up on 100,000 keystrokes typed with no connection is sent what it lacks by
   * its hashes, of which only the last of each run has a row (about 100): their point lookups took 0.73 s
   * of W2's catch-up, the pass a few milliseconds.
   */
  getChanges(docId: string, hashes: string[]): ChangeRow[] {
    const out: ChangeRow[] = []
    if (hashes.length >= SCAN_AT_HASHES) {
      const rows = (this.sql(`SELECT count(*) AS n FROM changes WHERE doc = ${DOC_KEY}`).get(docId) as { n: number }).n
      if (rows < hashes.length * SCAN_ROWS_PER_HASH) {
        const wanted = new Set(hashes)
        const seqOf = new Map<string, number>()
        const pass = this.sql(`SELECT seq, hash FROM changes WHERE doc = ${DOC_KEY}`)
        for (const r of pass.all(docId) as { seq: number; hash: Uint8Array }[]) {
          const h = hexOf(r.hash)
          if (wanted.has(h)) seqOf.set(h, r.seq)
        }
        // Most of the document wanted (a teammate back after what was typed here): one more pass reads them,
        // rather than a statement per row.
        if (seqOf.size * 2 >= rows) {
          const byHash = new Map<string, ChangeRow>()
          for (const r of this.sql(`SELECT ${CHANGE_COLUMNS} WHERE c.doc = ${DOC_KEY}`).all(docId) as Row[]) {
            const h = hexOf(r['hash'])
            if (seqOf.has(h)) byHash.set(h, this.changeFromRow(r))
          }
          for (const h of hashes) {
            const row = byHash.get(h)
            if (row) out.push(row)
          }
          return out
        }
        const bySeq = this.sql(`SELECT ${CHANGE_COLUMNS} WHERE c.seq = ?`)
        for (const h of hashes) {
          const seq = seqOf.get(h)
          if (seq !== undefined) out.push(this.changeFromRow(bySeq.get(seq) as Row))
        }
        return out
      }
    }
    const get = this.sql(`SELECT ${CHANGE_COLUMNS} WHERE c.doc = ${DOC_KEY} AND c.hash = ?`)
    for (const h of hashes) {
      const r = get.get(docId, hashBlob(h)) as Row | undefined
      if (r) out.push(this.changeFromRow(r))
    }
    return out
  }

  changeLinks(docId: string, max: number): { hash: string; deps: string[] | null }[] | undefined {
    const rows = this.sql(`SELECT hash, deps FROM changes WHERE doc = ${DOC_KEY} ORDER BY seq LIMIT ?`).all(docId, max + 1) as {
      hash: Uint8Array
      deps: Uint8Array | null
    }[]
    if (rows.length > max) return undefined
    return rows.map((r) => ({ hash: hexOf(r.hash), deps: headsFromBlob(r.deps) }))
  }

  changesAfter(docId: string, seq: number): ChangeRow[] {
    return (this.sql(`SELECT ${CHANGE_COLUMNS} WHERE c.doc = ${DOC_KEY} AND c.seq > ? ORDER BY c.seq`).all(docId, seq) as Row[]).map((r) =>
      this.changeFromRow(r),
    )
  }

  unsignedChanges(): ChangeRow[] {
    // No index: one would cost every edit made with no connection its upkeep twice (stored, then sealed).
    return (this.sql(`SELECT ${CHANGE_COLUMNS} WHERE length(c.signature) = 0 AND c.cover IS NULL ORDER BY c.seq`).all() as Row[]).map((r) =>
      this.changeFromRow(r),
    )
  }

  countChangesAfter(docId: string, seq: number): number {
    return (this.sql(`SELECT coalesce(sum(n), 0) AS n FROM changes WHERE doc = ${DOC_KEY} AND seq > ?`).get(docId, seq) as { n: number }).n
  }

  changeCounts(): Map<string, number> {
    const rows = this.sql('SELECT k.doc AS doc, sum(c.n) AS n FROM changes c JOIN doc_keys k ON k.id = c.doc GROUP BY c.doc').all() as {
      doc: string
      n: number
    }[]
    return new Map(rows.map((r) => [r.doc, r.n]))
  }

  docsWrittenBy(workspaceId: string, authors: string[]): string[] {
    if (authors.length === 0) return []
    const rows = this.sql(`SELECT DISTINCT k.doc AS id FROM changes c JOIN doc_keys k ON k.id = c.doc JOIN documents d ON d.id = k.doc
        JOIN authors a ON a.id = c.author
        WHERE d.workspace_id = ? AND a.device IN (${authors.map(() => '?').join(', ')}) ORDER BY k.doc`).all(workspaceId, ...authors) as {
      id: string
    }[]
    return rows.map((r) => r.id)
  }

  putSnapshot(row: SnapshotRow): void {
    const c = row.content
    this.sql(`INSERT INTO snapshots (doc_id, bytes, heads, up_to_seq, created_at, title, text, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, up_to_seq = excluded.up_to_seq,
        created_at = excluded.created_at, title = excluded.title, text = excluded.text, deleted = excluded.deleted`).run(
      row.docId,
      row.bytes,
      JSON.stringify(row.heads),
      row.upToSeq,
      row.createdAt,
      c?.title ?? null,
      c?.text ?? null,
      c ? (c.deleted ? 1 : 0) : null,
    )
  }

  getSnapshot(docId: string): SnapshotRow | undefined {
    const r = this.sql('SELECT * FROM snapshots WHERE doc_id = ?').get(docId) as Row | undefined
    if (!r) return undefined
    const row: SnapshotRow = {
      docId: r['doc_id'],
      bytes: r['bytes'],
      heads: JSON.parse(r['heads']),
      upToSeq: r['up_to_seq'],
      createdAt: r['created_at'],
    }
    if (r['text'] !== null) row.content = { title: r['title'], text: r['text'], deleted: r['deleted'] === 1 }
    return row
  }

  getSnapshotContent(docId: string): (SnapshotContent & { heads: string[]; upToSeq: number }) | undefined {
    const r = this.sql('SELECT heads, up_to_seq, title, text, deleted FROM snapshots WHERE doc_id = ? AND text IS NOT NULL').get(docId) as
      | Row
      | undefined
    return r && { heads: JSON.parse(r['heads']), upToSeq: r['up_to_seq'], title: r['title'], text: r['text'], deleted: r['deleted'] === 1 }
  }

  putInvite(row: InviteRow): void {
    this.sql(`INSERT INTO invites (id, workspace_id, secret_hash, role, created_at, expires_at, used_at, used_by, require_approval,
        revoked_at, declined_at, declined_by)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      row.id,
      row.workspaceId,
      row.secretHash,
      row.role,
      row.createdAt,
      row.expiresAt,
      row.usedAt,
      row.usedBy,
      row.requireApproval ? 1 : 0,
      row.revokedAt,
      row.declinedAt,
      row.declinedBy,
    )
  }

  getInvite(id: string): InviteRow | undefined {
    const r = this.sql('SELECT * FROM invites WHERE id = ?').get(id) as Row | undefined
    return r && inviteFromRow(r)
  }

  listInvites(workspaceId: string, limit: number): InviteRow[] {
    const rows = this.sql('SELECT * FROM invites WHERE workspace_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(
      workspaceId,
      limit,
    ) as Row[]
    return rows.map(inviteFromRow)
  }

  markRead(docId: string, at: number, heads?: string[]): void {
    this.sql(`INSERT INTO doc_reads (doc_id, read_at, followed, read_heads) VALUES (?, ?, 1, ?)
      ON CONFLICT(doc_id) DO UPDATE SET read_at = max(read_at, excluded.read_at), followed = 1,
        read_heads = coalesce(excluded.read_heads, read_heads)`).run(docId, at, heads ? JSON.stringify(heads) : null)
  }

  follow(docId: string): void {
    this.sql(`INSERT INTO doc_reads (doc_id, followed) VALUES (?, 1) ON CONFLICT(doc_id) DO UPDATE SET followed = 1`).run(docId)
  }

  listReads(): Map<string, ReadRow> {
    const rows = this.sql('SELECT * FROM doc_reads').all() as Row[]
    return new Map(rows.map((r) => [r['doc_id'], readFromRow(r)]))
  }

  getRead(docId: string): ReadRow | undefined {
    const r = this.sql('SELECT * FROM doc_reads WHERE doc_id = ?').get(docId) as Row | undefined
    return r && readFromRow(r)
  }

  // Each closes only an open invite, so that exactly one of used, declined and revoked ever happens to it.
  useInvite(id: string, usedBy: string, at: number): boolean {
    return this.sql(`UPDATE invites SET used_at = ?, used_by = ? WHERE id = ? AND ${OPEN_INVITE}`).run(at, usedBy, id).changes === 1
  }

  declineInvite(id: string, by: string, at: number): boolean {
    return this.sql(`UPDATE invites SET declined_at = ?, declined_by = ? WHERE id = ? AND ${OPEN_INVITE}`).run(at, by, id).changes === 1
  }

  revokeInvite(id: string, at: number): boolean {
    return this.sql(`UPDATE invites SET revoked_at = ? WHERE id = ? AND ${OPEN_INVITE}`).run(at, id).changes === 1
  }

  notePeerSeen(peerId: string, addresses: string[], at: number): void {
    this.sql(`INSERT INTO peers (peer_id, last_seen) VALUES (?, ?)
      ON CONFLICT(peer_id) DO UPDATE SET last_seen = excluded.last_seen`).run(peerId, at)
    const insert = this.sql(`INSERT INTO peer_addresses (peer_id, address, last_seen) VALUES (?, ?, ?)
      ON CONFLICT(peer_id, address) DO UPDATE SET last_seen = excluded.last_seen`)
    for (const a of addresses) insert.run(peerId, a, at)
  }

  notePeerSynced(peerId: string, at: number): void {
    this.sql(`INSERT INTO peers (peer_id, last_seen, last_sync_at) VALUES (?, ?, ?)
      ON CONFLICT(peer_id) DO UPDATE SET last_sync_at = excluded.last_sync_at`).run(peerId, at, at)
  }

  getPeer(peerId: string): PeerRow | undefined {
    const r = this.sql('SELECT * FROM peers WHERE peer_id = ?').get(peerId) as Row | undefined
    return r && this.peerFromRow(r)
  }

  listPeers(): PeerRow[] {
    return (this.sql('SELECT * FROM peers ORDER BY last_seen DESC').all() as Row[]).map((r) => this.peerFromRow(r))
  }

  private peerFromRow(r: Row): PeerRow {
    const addresses = (
      this.sql('SELECT address FROM peer_addresses WHERE peer_id = ? ORDER BY last_seen DESC LIMIT 16').all(r['peer_id']) as {
        address: string
      }[]
    ).map((a) => a.address)
    return { peerId: r['peer_id'], lastSeen: r['last_seen'], lastSyncAt: r['last_sync_at'], addresses }
  }

  putAddressRecord(device: string, seq: number, record: Uint8Array): boolean {
    const r = this.sql(`INSERT INTO address_records (device, seq, record) VALUES (?, ?, ?)
      ON CONFLICT(device) DO UPDATE SET seq = excluded.seq, record = excluded.record WHERE excluded.seq > address_records.seq`).run(
      device,
      seq,
      record,
    )
    return r.changes > 0
  }

  listAddressRecords(): { device: string; seq: number; record: Uint8Array }[] {
    return (this.sql('SELECT device, seq, record FROM address_records').all() as Row[]).map((r) => ({
      device: r['device'],
      seq: r['seq'],
      record: new Uint8Array(r['record']),
    }))
  }

  newestArrivalBy(docId: string, author: string, beforeSeq?: number): number | null {
    const r = this.sql(
      `SELECT arrived_at FROM changes WHERE doc = ${DOC_KEY} AND author = ${AUTHOR_ID} AND seq < ? ORDER BY seq DESC LIMIT 1`,
    ).get(docId, author, beforeSeq ?? Number.MAX_SAFE_INTEGER) as { arrived_at: number } | undefined
    return r?.arrived_at ?? null
  }

  countBy(docId: string, author: string): { changes: number; firstSeq: number | null } {
    const r = this.sql(
      `SELECT coalesce(sum(n), 0) AS changes, min(seq) AS first FROM changes WHERE doc = ${DOC_KEY} AND author = ${AUTHOR_ID}`,
    ).get(docId, author) as { changes: number; first: number | null }
    return { changes: r.changes, firstSeq: r.first }
  }

  firstSeqOf(docId: string, author: string, hashes: readonly string[]): number | null {
    const get = this.sql(`SELECT seq FROM changes WHERE doc = ${DOC_KEY} AND hash = ? AND author = ${AUTHOR_ID}`)
    for (const h of hashes) {
      const r = get.get(docId, hashBlob(h), author) as { seq: number } | undefined
      if (r) return r.seq
    }
    return null
  }

  indexDocument(docId: string, workspaceId: string, title: string, text: string): void {
    this.sql('INSERT INTO search_docs (doc_id) VALUES (?) ON CONFLICT(doc_id) DO NOTHING').run(docId)
    const { rowid } = this.sql('SELECT rowid FROM search_docs WHERE doc_id = ?').get(docId) as { rowid: number }
    this.sql('DELETE FROM search_fts WHERE rowid = ?').run(rowid)
    this.sql('INSERT INTO search_fts (rowid, title, body, workspace_id) VALUES (?, ?, ?, ?)').run(rowid, title, text, workspaceId)
  }

  unindexDocument(docId: string): void {
    const row = this.sql('SELECT rowid FROM search_docs WHERE doc_id = ?').get(docId) as { rowid: number } | undefined
    if (!row) return
    this.sql('DELETE FROM search_fts WHERE rowid = ?').run(row.rowid)
    this.sql('DELETE FROM search_docs WHERE rowid = ?').run(row.rowid)
  }

  searchDocuments(match: string, workspaceIds: string[], limit: number): SearchRow[] {
    const rows = this.sql(`SELECT d.doc_id, f.workspace_id, f.title, f.body,
        snippet(search_fts, -1, char(2), char(3), '…', 16) AS snippet
      FROM search_fts f JOIN search_docs d ON d.rowid = f.rowid
      WHERE search_fts MATCH ? AND f.workspace_id IN (SELECT value FROM json_each(?))
      ORDER BY rank LIMIT ?`).all(match, JSON.stringify(workspaceIds), limit) as Row[]
    return rows.map((r) => ({
      docId: r['doc_id'],
      workspaceId: r['workspace_id'],
      title: r['title'],
      snippet: r['snippet'],
      body: r['body'],
    }))
  }

  historyHeads(docId: string): string[] | undefined {
    const r = this.sql('SELECT heads FROM history_progress WHERE doc_id = ?').get(docId) as Row | undefined
    return r && (JSON.parse(r['heads']) as string[])
  }

  setHistoryHeads(docId: string, heads: string[]): void {
    this.sql(`INSERT INTO history_progress (doc_id, heads) VALUES (?, ?)
      ON CONFLICT(doc_id) DO UPDATE SET heads = excluded.heads`).run(docId, JSON.stringify(heads))
  }

  sessionNear(docId: string, author: string, at: number, gap: number): HistorySessionRow | undefined {
    const r = this.sql(`SELECT * FROM history_sessions WHERE doc_id = ? AND author = ? AND ended_at >= ? AND started_at <= ?
      ORDER BY ended_at DESC, id DESC LIMIT 1`).get(docId, author, at - gap, at + gap) as Row | undefined
    return r && sessionOf(r)
  }

  putSession(row: HistorySessionRow): number {
    const values = [
      row.docId,
      row.author,
      row.startedAt,
      row.endedAt,
      row.inserted,
      row.deleted,
      row.changes,
      row.retitled ? 1 : 0,
      row.version,
    ]
    if (row.id) {
      this.sql(`UPDATE history_sessions SET doc_id = ?, author = ?, started_at = ?, ended_at = ?, inserted = ?, deleted = ?,
        changes = ?, retitled = ?, version = ? WHERE id = ?`).run(...values, row.id)
      return row.id
    }
    const r = this.sql(`INSERT INTO history_sessions (doc_id, author, started_at, ended_at, inserted, deleted, changes, retitled, version)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...values)
    return Number(r.lastInsertRowid)
  }

  listSessions(docId: string, limit: number, before?: number): HistorySessionRow[] {
    const rows = this.sql('SELECT * FROM history_sessions WHERE doc_id = ? AND ended_at < ? ORDER BY ended_at DESC, id DESC LIMIT ?').all(
      docId,
      before ?? Number.MAX_SAFE_INTEGER,
      limit,
    ) as Row[]
    return rows.map(sessionOf)
  }

  findSession(docId: string, version: string): HistorySessionRow[] {
    const exact = this.sql('SELECT * FROM history_sessions WHERE doc_id = ? AND version = ?').all(docId, version) as Row[]
    if (exact.length) return exact.map(sessionOf)
    // A prefix: ordinary characters only (a LIKE pattern's own are refused by the caller's schema).
    const rows = this.sql("SELECT * FROM history_sessions WHERE doc_id = ? AND version LIKE ? || '%' LIMIT 2").all(docId, version) as Row[]
    return rows.map(sessionOf)
  }

  clearHistory(docId?: string): void {
    if (docId === undefined) {
      this.sql('DELETE FROM history_sessions').run()
      this.sql('DELETE FROM history_progress').run()
      return
    }
    this.sql('DELETE FROM history_sessions WHERE doc_id = ?').run(docId)
    this.sql('DELETE FROM history_progress WHERE doc_id = ?').run(docId)
  }

  changeHashesStartingWith(docId: string, prefix: string, limit: number): string[] {
    if (!/^[0-9a-f]{0,64}$/.test(prefix)) return []
    // A range of the (doc, hash) index: the hashes the prefix begins, from its 0…0 to its f…f.
    const rows = this.sql(`SELECT hash FROM changes WHERE doc = ${DOC_KEY} AND hash >= ? AND hash <= ? ORDER BY hash LIMIT ?`).all(
      docId,
      Buffer.from(prefix.padEnd(64, '0'), 'hex'),
      Buffer.from(prefix.padEnd(64, 'f'), 'hex'),
      limit,
    ) as Row[]
    return rows.map((r) => hexOf(r['hash']))
  }

  changeAuthors(docId: string): string[] {
    return (
      this.sql(`SELECT a.device FROM authors a WHERE a.id IN (SELECT DISTINCT author FROM changes WHERE doc = ${DOC_KEY})`).all(
        docId,
      ) as Row[]
    ).map((r) => r['device'] as string)
  }

  setDeviceZone(device: string, utcOffsetMinutes: number, at: number): void {
    this.sql(`INSERT INTO device_zones (device, utc_offset_minutes, seen_at) VALUES (?, ?, ?)
      ON CONFLICT(device) DO UPDATE SET utc_offset_minutes = excluded.utc_offset_minutes, seen_at = excluded.seen_at`).run(
      device,
      utcOffsetMinutes,
      at,
    )
  }

  deviceZones(): Map<string, number> {
    const rows = this.sql('SELECT device, utc_offset_minutes FROM device_zones').all() as Row[]
    return new Map(rows.map((r) => [r['device'] as string, r['utc_offset_minutes'] as number]))
  }

  clearSearchIndex(): void {
    this.sql('DELETE FROM search_fts').run()
    this.sql('DELETE FROM search_docs').run()
  }

  setPeerDocHeads(peerId: string, docId: string, heads: string[], at: number): void {
    this.sql(`INSERT INTO peer_doc_heads (peer_id, doc_id, heads, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(peer_id, doc_id) DO UPDATE SET heads = excluded.heads, updated_at = excluded.updated_at
      WHERE excluded.updated_at >= peer_doc_heads.updated_at`).run(peerId, docId, JSON.stringify(heads), at)
  }

  peerHeadsOf(peerId: string): Map<string, string[]> {
    const rows = this.sql('SELECT doc_id, heads FROM peer_doc_heads WHERE peer_id = ?').all(peerId) as { doc_id: string; heads: string }[]
    return new Map(rows.map((r) => [r.doc_id, JSON.parse(r.heads) as string[]]))
  }

  listPeerDocHeads(docId: string): { peerId: string; heads: string[]; updatedAt: number }[] {
    return (this.sql('SELECT * FROM peer_doc_heads WHERE doc_id = ?').all(docId) as Row[]).map((r) => ({
      peerId: r['peer_id'],
      heads: JSON.parse(r['heads']),
      updatedAt: r['updated_at'],
    }))
  }
}

function workspaceFromRow(r: Row): WorkspaceRow {
  return { id: r['id'], name: r['name'], ownerId: r['owner_id'], createdAt: r['created_at'], joinedAt: r['joined_at'] }
}

function readFromRow(r: Row): ReadRow {
  return {
    docId: r['doc_id'],
    readAt: r['read_at'],
    followed: r['followed'] === 1,
    readHeads: r['read_heads'] ? (JSON.parse(r['read_heads']) as string[]) : null,
  }
}

function sessionOf(r: Row): HistorySessionRow {
  return {
    id: r['id'],
    docId: r['doc_id'],
    author: r['author'],
    startedAt: r['started_at'],
    endedAt: r['ended_at'],
    inserted: r['inserted'],
    deleted: r['deleted'],
    changes: r['changes'],
    retitled: r['retitled'] === 1,
    version: r['version'],
  }
}

function documentFromRow(r: Row): DocumentRow {
  return {
    id: r['id'],
    workspaceId: r['workspace_id'],
    title: r['title'],
    heads: JSON.parse(r['heads']),
    createdAt: r['created_at'],
    lastChangeAt: r['last_change_at'],
    lastChangeBy: r['last_change_by'],
    deleted: r['deleted'] === 1,
    changeCount: r['change_count'],
    lastRemoteAt: r['last_remote_at'],
  }
}

/**
 * `getChanges` of at least this many hashes counts the document's rows, and when they are fewer than this
 * many per hash, passes over them once instead of looking each hash up (100,000 point lookups took 0.73 s).
 */
const SCAN_AT_HASHES = 256
const SCAN_ROWS_PER_HASH = 8
/**
 * A change row's columns as stored (`WHERE` and the rest follow): its document, author, membership heads and
 * epoch as their numbers, which the store names from memory (interned.ts), not by a join: with a join, each
 * lookup of a hash not stored cost 9 µs instead of 1 (catch-up looks up every change a teammate lacks: 100,000
 * of them took 2 s more in W2).
 */
const CHANGE_COLUMNS =
  'c.seq, c.doc, c.hash, c.author, c.signature, c.bytes, c.arrived_at, c.m, c.epoch, c.deps, c.n, c.cover FROM changes c'
/** The columns an insert gives, after `seq` (`changeValues`). */
const CHANGE_INSERT = 'doc, hash, author, signature, bytes, arrived_at, m, epoch, deps, n'
/** An author's number from their device id (a parameter); NULL, matching nothing, for a device never stored. */
const AUTHOR_ID = '(SELECT id FROM authors WHERE device = ?)'
/** A document's number in the change log from its id (a parameter); NULL, matching nothing, for one with no change stored. */
const DOC_KEY = '(SELECT id FROM doc_keys WHERE doc = ?)'

/**
 * A change hash as stored: its 32 bytes. Hashes come from Automerge or the wire as lowercase hex; anything
 * else (a caller's typo) becomes a value no stored hash equals, never a shorter prefix of one.
 */
function hashBlob(hex: string): Buffer {
  return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(0)
}

function hexOf(blob: Uint8Array): string {
  return Buffer.from(blob).toString('hex')
}

/** A record as its row will read back (without its seq): an older version's clear change keeps no deps. */
function recordRow(docId: string, c: ChangeRecord, arrivedAt: number): Omit<ChangeRow, 'seq'> {
  const epoch = c.epoch ?? null
  return {
    hash: c.hash,
    author: c.author,
    signature: c.signature,
    bytes: c.bytes,
    m: c.m ?? null,
    epoch,
    deps: epoch === null ? null : (c.deps ?? []),
    n: c.n ?? 1,
    cover: null,
    docId,
    arrivedAt,
  }
}

/** 32-byte hashes (hex) concatenated, as stored; null stays NULL. */
function blobOf(hashes: string[] | null): Buffer | null {
  return hashes && Buffer.from(hashes.join(''), 'hex')
}

/** 32-byte hashes (membership ops, change deps), concatenated, back to hex; NULL (an older version's change) to null. */
function headsFromBlob(blob: Uint8Array | null): string[] | null {
  return blob === null ? null : headsFromHex(Buffer.from(blob).toString('hex'))
}

/** 32-byte hashes in hex, concatenated, apart. */
function headsFromHex(hex: string): string[] {
  const out: string[] = []
  for (let i = 0; i < hex.length; i += 64) out.push(hex.slice(i, i + 64))
  return out
}

function inviteFromRow(r: Row): InviteRow {
  return {
    id: r['id'],
    workspaceId: r['workspace_id'],
    secretHash: r['secret_hash'],
    role: r['role'] as Role,
    createdAt: r['created_at'],
    expiresAt: r['expires_at'],
    usedAt: r['used_at'],
    usedBy: r['used_by'],
    requireApproval: r['require_approval'] === 1,
    revokedAt: r['revoked_at'],
    declinedAt: r['declined_at'],
    declinedBy: r['declined_by'],
  }
}
