/**
 * Reads a Grapevine profile's listing rows read-only (its own connection, WAL allows it) to see
 * each document's heads without asking the peer to load every document. Used to tell when two
 * peers hold the same documents.
 */
import Database from 'better-sqlite3'

/** docId → its heads, sorted and joined. */
export function readHeads(dbPath: string): Record<string, string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare('SELECT id, heads FROM documents').all() as { id: string; heads: string }[]
    return Object.fromEntries(rows.map((r) => [r.id, (JSON.parse(r.heads) as string[]).sort().join(',')]))
  } finally {
    db.close()
  }
}
