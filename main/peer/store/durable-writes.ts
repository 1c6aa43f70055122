/**
 * The durable write path of the profile database: group commits, the WAL's fsync off the event loop, and
 * checkpoints that keep their fsyncs off it too. Writes are grouped: every `write()` issued in the same
 * turn of the event loop commits in one transaction (and every write issued while an fsync runs, once it
 * returns), and each resolves only once that commit is on disk, so an acknowledged write is durable.
 *
 * The fsync is not on the event loop (design: no fsync blocks gossip). Transactions commit with
 * `synchronous=OFF`, which hands the WAL frames to the OS and returns (a fraction of a millisecond),
 * and then the WAL file itself is fdatasync'ed on libuv's thread pool; writes resolve when that
 * returns. That is what `synchronous=FULL` does in WAL mode (it syncs the WAL at each commit),
 * moved off the thread. The one thing FULL does besides, syncing the database file during a
 * checkpoint before the WAL may be reused, is moved off the thread the same way: automatic
 * checkpoints are off, and when the WAL has grown this store checkpoints it in a quiet moment, when
 * every committed frame is on disk; the copy (a few milliseconds) runs with OFF, the database file is
 * then fdatasync'ed on the pool, and until that returns a read transaction on a second connection
 * keeps SQLite from starting the WAL over (`checkpointInBackground`). On close it checkpoints with
 * `synchronous=FULL` and TRUNCATE. A write nobody waits on may wait a little to commit with later ones
 * (`writeSoon`): fewer commits, each one fsync, while teammates type.
 *
 * The connection is the store's (sqlite-store.ts), set up by it with `synchronous=OFF`,
 * `wal_autocheckpoint = 0` and `journal_size_limit = 0`; from then on every write goes through here.
 */
import Database from 'better-sqlite3'
import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync } from 'node:fs'

interface Pending {
  fn: () => unknown
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

/** A committed write waiting for the WAL's fsync: its outcome is told when that returns. */
interface Committed {
  p: Pending
  ok: boolean
  value: unknown
}

/** The WAL is checkpointed (with synchronous=FULL) once it holds this much, after a quiet moment. */
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024
/** The quiet moment: no commit for this long. */
const CHECKPOINT_QUIET_MS = 200
/** Past this many times that, the checkpoint runs as soon as every commit is on disk, quiet or not (64 MiB). */
const CHECKPOINT_FORCE_FACTOR = 16

export interface DurableWritesOptions {
  /** The WAL size at which a checkpoint is due (tests make it small). */
  checkpointWalBytes?: number
  /** For tests: called once a checkpoint has copied the WAL, before the database file's fsync returns. */
  onCheckpointCopied?: () => void
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

export class DurableWrites {
  private readonly db: Database.Database
  private readonly path: string
  private queue: Pending[] = []
  private flushScheduled = false
  private closed = false
  /** The WAL size at which a checkpoint is due. */
  private readonly checkpointWalBytes: number
  private readonly onCheckpointCopied: (() => void) | undefined

  constructor(db: Database.Database, path: string, options: DurableWritesOptions = {}) {
    this.db = db
    this.path = path
    this.checkpointWalBytes = options.checkpointWalBytes ?? CHECKPOINT_WAL_BYTES
    this.onCheckpointCopied = options.onCheckpointCopied
    // Made once: better-sqlite3 builds a transaction function's wrappers at each `transaction()` call,
    // about 5 µs, which made it a tenth of a group commit's own cost per write.
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn())
  }

  /** Runs `fn` in a transaction, or, inside one, in a savepoint: committed if it returns, rolled back if it throws. */
  private readonly inTransaction: (fn: () => unknown) => unknown

  get isClosed(): boolean {
    return this.closed
  }

  /** Group commits (transactions, each one fsync) made so far: what a write path costs. */
  commits = 0

  /** While a write runs in `flush`: what it asked to run once its transaction has committed (`afterCommit`). */
  private current: (() => void)[] | null = null

  /**
   * Runs `fn` once the write now running has committed (before its fsync: it is for what is kept in
   * memory about rows, which a rolled-back write must not leave behind); never if the write or its
   * transaction rolls back. Outside a write with no transaction open, `fn` runs now; inside another
   * transaction (a migration), never.
   */
  afterCommit(fn: () => void): void {
    if (this.current) this.current.push(fn)
    else if (!this.db.inTransaction) fn()
  }

  write<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`store ${this.path} is closed`))
    if (this.syncFailure) return Promise.reject(this.syncFailure)
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  writeNow<T>(fn: () => T): Promise<T> {
    const p = this.write(fn)
    // write() queued it (or refused: then nothing is queued and flush has nothing to do).
    if (this.flushScheduled) this.flush()
    return p
  }

  /** When the writes queued by `writeSoon` commit at the latest, and its timer; null while none waits. */
  private soonAt = Infinity
  private soonTimer: NodeJS.Timeout | null = null

  /**
   * As `write`, but it may wait up to `withinMs` to commit with later writes, in their order: for a write
   * nobody waits on (a teammate's changes, which catch-up brings back after a crash, and what is kept
   * about teammates). A `write` or `writeNow` meanwhile takes it along in its commit.
   */
  writeSoon<T>(fn: () => T, withinMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`store ${this.path} is closed`))
    if (this.syncFailure) return Promise.reject(this.syncFailure)
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject })
      const at = performance.now() + withinMs
      if (this.flushScheduled || at >= this.soonAt) return
      if (this.soonTimer) clearTimeout(this.soonTimer)
      this.soonAt = at
      this.soonTimer = setTimeout(() => {
        this.soonTimer = null
        this.soonAt = Infinity
        if (this.flushScheduled || this.queue.length === 0) return
        this.flushScheduled = true
        this.flush()
      }, withinMs)
    })
  }

  /** Commits now whatever is queued, writes that may wait included, once durable; at once if nothing is. */
  commitQueued(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve()
    return this.writeNow(() => undefined)
  }

  private cancelSoon(): void {
    if (this.soonTimer) clearTimeout(this.soonTimer)
    this.soonTimer = null
    this.soonAt = Infinity
  }

  /** Writes queued while an fsync ran wait for it to return, and then commit together (`flush`). */
  private commitAfterSync = false

  /**
   * Commits every queued write in one transaction; each runs in its own savepoint. While an fsync of
   * the WAL runs, the writes wait for it and commit together when it returns (group commit): none of
   * them could be durable sooner (the next fsync starts then either way), and under load, several
   * requests in flight, they cost one transaction instead of one each. `force`: now, fsync or not (close, eraseSecretly).
   */
  private flush(force = false): void {
    if (this.syncing && !force && !this.closed && this.queue.length > 0) {
      this.commitAfterSync = true
      return
    }
    this.commitAfterSync = false
    this.flushScheduled = false
    // Writes that could wait go with this commit.
    this.cancelSoon()
    const batch = this.queue
    this.queue = []
    if (batch.length === 0 || this.closed) {
      for (const p of batch) p.reject(new Error(`store ${this.path} is closed`))
      return
    }
    const outcomes: { ok: boolean; value: unknown }[] = []
    const committed: (() => void)[] = []
    const t0 = performance.now()
    try {
      this.inTransaction(() => {
        for (const p of batch) {
          this.current = []
          try {
            outcomes.push({ ok: true, value: this.inTransaction(p.fn) })
            committed.push(...this.current)
          } catch (err) {
            outcomes.push({ ok: false, value: err })
          }
        }
      })
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    } finally {
      this.current = null
    }
    for (const fn of committed) fn()
    this.commits++
    this.lastCommitAt = performance.now()
    if (process.env['GRAPEVINE_SLOW'] && performance.now() - t0 > 50)
      console.error(`SLOW COMMIT ${(performance.now() - t0).toFixed(0)} ms, ${batch.length} writes`)
    for (const [i, p] of batch.entries()) this.unsynced.push({ p, ok: outcomes[i]!.ok, value: outcomes[i]!.value })
    this.sync()
  }

  /** Commits not on disk yet; they are told their outcome when the fsync that covers them returns. */
  private unsynced: Committed[] = []
  private syncing = false
  /** The WAL file, opened for fdatasync after the first commit made sure it exists. */
  private walFd: number | null = null
  /** An fsync failed: nothing written since can be called durable, so every write fails from then on. */
  private syncFailure: Error | null = null
  private lastCommitAt = 0
  private checkpointTimer: NodeJS.Timeout | null = null
  /** fsyncs of the WAL made so far (tests look: a write resolves only after one). */
  syncs = 0
  /** Checkpoints made while running (not counting the one on close). */
  checkpoints = 0

  /** Starts an fdatasync of the WAL for the commits waiting, unless one runs (then the next covers them). */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0) return
    const fd = this.wal()
    const waiting = this.unsynced
    this.unsynced = []
    this.syncing = true
    fdatasync(fd, (err) => {
      this.syncing = false
      if (this.closed && fd !== this.walFd) closeQuietly(fd) // close() left it open for this call
      if (err && !this.syncFailure) this.syncFailure = new Error(`store ${this.path}: the WAL could not be synced to disk: ${err.message}`)
      if (!err) this.syncs++
      this.settle(waiting)
      if (!this.closed) {
        // Before the writes that waited commit: this is a moment when every committed frame is on disk.
        this.maybeCheckpoint()
        if (this.commitAfterSync) this.flush()
        this.sync()
      }
    })
  }

  private settle(waiting: Committed[]): void {
    for (const c of waiting) {
      if (this.syncFailure) c.p.reject(this.syncFailure)
      else if (c.ok) c.p.resolve(c.value)
      else c.p.reject(c.value)
    }
  }

  private wal(): number {
    if (this.walFd === null) this.walFd = openSync(`${this.path}-wal`, 'r+')
    return this.walFd
  }

  /** Checkpoints a grown WAL once commits pause (or, when it is very large, as soon as every commit is on disk). */
  private maybeCheckpoint(): void {
    if (this.checkpointTimer || this.walFd === null || this.pinned || this.syncFailure) return
    const size = fstatSync(this.walFd).size
    if (size < this.checkpointWalBytes) return
    if (size >= this.checkpointWalBytes * CHECKPOINT_FORCE_FACTOR && this.walOnDisk()) {
      this.checkpointInBackground()
      return
    }
    const run = (): void => {
      this.checkpointTimer = null
      if (this.closed || this.syncFailure) return
      const quietFor = performance.now() - this.lastCommitAt
      if (quietFor < CHECKPOINT_QUIET_MS || !this.walOnDisk()) {
        this.checkpointTimer = setTimeout(run, Math.max(CHECKPOINT_QUIET_MS - quietFor, 10))
        return
      }
      this.checkpointInBackground()
    }
    this.checkpointTimer = setTimeout(run, CHECKPOINT_QUIET_MS)
  }

  /** Whether every committed frame of the WAL is on disk: no commit waits for an fsync. */
  private walOnDisk(): boolean {
    return !this.syncing && this.unsynced.length === 0
  }

  /**
   * The second connection whose read transaction pins the WAL (see checkpointInBackground), with its one
   * statement; opened for the first checkpoint.
   */
  private pin: { db: Database.Database; read: Database.Statement } | null = null
  /** A checkpoint has copied the WAL and the database file's fsync has not returned: the pin holds the WAL. */
  private pinned = false
  /** The database file, opened for fdatasync after the first checkpoint; whether an fdatasync of it runs. */
  private dbFd: number | null = null
  private dbSyncing = false

  /**
   * Copies the WAL into the database without holding the event loop for the fsyncs. Called when every
   * committed frame is on disk (their own fsyncs returned), so nothing is copied that could be lost, and
   * with synchronous=OFF: SQLite copies and returns, and the database file is fdatasync'ed on libuv's pool.
   * Until that returns the WAL must not be started over (a crash would lose frames the database file does
   * not hold on disk yet): a read transaction on a second connection, begun before the copy, keeps SQLite
   * from doing so (a writer starts the WAL over only when no reader uses it) and commits meanwhile append.
   * Once the database file is on disk the pin is released and the next commit starts the WAL over.
   */
  private checkpointInBackground(): void {
    let fd: number
    try {
      this.pin ??= this.openPin()
      this.dbFd ??= openSync(this.path, 'r+')
      fd = this.dbFd
      this.pin.db.exec('BEGIN')
      this.pin.read.get()
    } catch (err) {
      // Without the pin (or the file to sync), the checkpoint runs with FULL on this thread, as it used to.
      if (this.pin?.db.inTransaction) this.pin.db.exec('COMMIT')
      console.error(`store ${this.path}: checkpointing on the thread (${(err as Error).message})`)
      this.checkpoint()
      this.checkpoints++
      return
    }
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)')
    } catch (err) {
      // Nothing was lost: the WAL keeps every frame until a checkpoint has copied it.
      this.pin.db.exec('COMMIT')
      console.error(`store ${this.path}: a checkpoint failed: ${(err as Error).message}`)
      return
    }
    this.pinned = true
    this.onCheckpointCopied?.()
    if (this.closed || !this.pinned) return // the hook closed the store, which synced and released it
    this.dbSyncing = true
    fdatasync(fd, (err) => {
      this.dbSyncing = false
      if (this.closed) {
        if (fd !== this.dbFd) closeQuietly(fd) // close() synced the file itself, and left the descriptor to this call
        return
      }
      if (err) {
        // The pin stays: the WAL is never started over, and every write fails from now on (as for the WAL's own fsync).
        this.syncFailure ??= new Error(`store ${this.path}: the database file could not be synced to disk: ${err.message}`)
        return
      }
      this.unpin()
      this.checkpoints++
    })
  }

  private openPin(): { db: Database.Database; read: Database.Statement } {
    const db = new Database(this.path, { fileMustExist: true, timeout: 0 })
    return { db, read: db.prepare('SELECT count(*) FROM sqlite_schema') }
  }

  /** Ends the pin's read transaction: the WAL may be started over again. */
  private unpin(): void {
    if (!this.pinned) return
    this.pinned = false
    this.pin?.db.exec('COMMIT')
  }

  /**
   * Before this connection checkpoints by itself or closes: the database file is synced on this thread if a
   * background checkpoint's fsync has not returned, the pin released, and its connection closed (it would
   * keep the WAL from being emptied, and the store must close the database as its last connection).
   */
  private closePin(): void {
    try {
      if (this.pinned && this.dbFd !== null) fdatasyncSync(this.dbFd)
    } finally {
      this.unpin()
      this.pin?.db.close()
      this.pin = null
      const fd = this.dbFd
      this.dbFd = null
      if (fd !== null && !this.dbSyncing) closeQuietly(fd)
    }
  }

  /**
   * Copies the WAL into the database with synchronous=FULL, so the database file is synced before
   * SQLite may reuse the WAL; commits already queued go first.
   */
  private checkpoint(): void {
    this.db.pragma('synchronous = FULL')
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      this.db.pragma('synchronous = OFF')
    }
  }

  /**
   * Commits what is queued and makes it durable, runs `tidy` (the store's last work on the file), checkpoints
   * the WAL into the database and empties it, and closes the connection. True if everything reached the disk.
   */
  close(tidy: () => void): boolean {
    if (this.closed) return !this.syncFailure
    this.flush(true)
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer)
    this.checkpointTimer = null
    // What waits for an fsync is made durable here, on the thread: the process may be about to exit.
    const waiting = this.unsynced
    this.unsynced = []
    if (waiting.length || this.syncing) {
      try {
        fdatasyncSync(this.wal())
      } catch (err) {
        this.syncFailure ??= new Error(`store ${this.path}: the WAL could not be synced to disk: ${(err as Error).message}`)
      }
    }
    this.settle(waiting)
    this.closed = true
    try {
      this.closePin()
    } catch (err) {
      this.syncFailure ??= new Error(`store ${this.path}: the database file could not be synced to disk: ${(err as Error).message}`)
    }
    try {
      if (!this.syncFailure) {
        tidy()
        this.checkpoint()
      }
    } finally {
      // An fdatasync still running on the pool closes the descriptor when it returns (see sync).
      const fd = this.walFd
      this.walFd = null
      if (fd !== null && !this.syncing) closeQuietly(fd)
      this.db.close()
    }
    return !this.syncFailure
  }

  /**
   * Before the store rewrites the file by itself (sqlite-store.ts `eraseSecretly`): writes queued so far
   * commit now, in their own transaction (fsync or not), and the pin's connection is closed, since it would
   * keep the WAL from being emptied.
   */
  quiesce(): void {
    if (this.closed) throw new Error(`store ${this.path} is closed`)
    this.flush(true)
    this.closePin()
  }
}
