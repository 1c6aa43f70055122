/**
 * Values the change log repeats on many rows, stored once each in a table of their own and named by a
 * number on the rows (migrations 13 and 14): authors' device ids, documents' ids, epochs and membership
 * heads. Each side's numbers are kept in memory once read or committed; a row of these tables is never
 * removed or renumbered.
 */
import type Database from 'better-sqlite3'

export interface InternedTable {
  /** The table: `id INTEGER PRIMARY KEY` and one unique value column. */
  table: string
  column: string
  /** A value as the column stores it, from its key in memory (an id, hex). */
  toColumn: (key: string) => string | Buffer
  /** Back: a value read from the column to its key. */
  fromColumn: (value: string | Buffer) => string
}

export class Interned {
  private readonly numbers = new Map<string, number>()
  private readonly keys = new Map<number, string>()
  private readonly db: Database.Database
  private readonly spec: InternedTable
  private readonly afterCommit: (fn: () => void) => void
  private readonly find: Database.Statement
  private readonly add: Database.Statement
  private readonly read: Database.Statement

  /** `afterCommit`: runs its function once the write now running commits (durable-writes.ts `afterCommit`). */
  constructor(db: Database.Database, spec: InternedTable, afterCommit: (fn: () => void) => void) {
    this.db = db
    this.spec = spec
    this.afterCommit = afterCommit
    const { table, column } = spec
    this.find = db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`)
    this.add = db.prepare(`INSERT INTO ${table} (${column}) VALUES (?) ON CONFLICT (${column}) DO NOTHING`)
    this.read = db.prepare(`SELECT ${column} AS v FROM ${table} WHERE id = ?`)
  }

  /** The number of `key`, added if it has none (inside the caller's write). */
  numberOf(key: string): number {
    const known = this.numbers.get(key)
    if (known !== undefined) return known
    const value = this.spec.toColumn(key)
    this.add.run(value)
    const id = (this.find.get(value) as { id: number }).id
    // Kept once the write commits: a rolled-back insert's number may be given to another value.
    this.afterCommit(() => this.remember(key, id))
    return id
  }

  /** The key of a number read from a row. */
  keyOf(id: number): string {
    const known = this.keys.get(id)
    if (known !== undefined) return known
    const row = this.read.get(id) as { v: string | Buffer } | undefined
    if (!row) throw new Error(`${this.spec.table} has no row ${id}`)
    const key = this.spec.fromColumn(row.v)
    // Read from a committed row (or one this write made, which rows of it name only if it commits).
    if (!this.db.inTransaction) this.remember(key, id)
    return key
  }

  private remember(key: string, id: number): void {
    this.numbers.set(key, id)
    this.keys.set(id, key)
  }
}
