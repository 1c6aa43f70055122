/**
 * A peer's change log as it lies in its SQLite file, read through a read-only connection (as another
 * process would, while the peer runs): what the convergence checks compare, and what replays resend.
 */
import Database from 'better-sqlite3'
import { envelopeOf } from '../../sync/change-validation.ts'
import type { SignedChange } from '../../wire/peer-protocol.ts'

export interface StoredChange {
  docId: string
  hash: string
  /** Its Automerge deps, signed in clear beside the sealed bytes. */
  deps: string[]
  item: SignedChange
}

/** Concatenated 32-byte hashes, as the store keeps membership heads and deps, in hex. */
function hashes(blob: Uint8Array | null): string[] | null {
  if (blob === null) return null
  const hex = Buffer.from(blob).toString('hex')
  const out: string[] = []
  for (let i = 0; i < hex.length; i += 64) out.push(hex.slice(i, i + 64))
  return out
}

interface Row {
  doc_id: string
  hash: string
  author: string
  signature: Uint8Array
  bytes: Uint8Array
  membership_heads: Uint8Array | null
  epoch: string | null
  deps: Uint8Array | null
}

/** Every change stored in the database at `dbPath`, in arrival order. */
export function storedChanges(dbPath: string): StoredChange[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const rows = db
      .prepare('SELECT doc_id, hash, author, signature, bytes, membership_heads, epoch, deps FROM changes ORDER BY seq')
      .all() as Row[]
    return rows.map((r) => {
      // Every change of this version is sealed, with its deps in clear: the simulation knows no older ones.
      if (r.epoch === null || r.deps === null) throw new Error(`change ${r.hash} of ${r.doc_id} in ${dbPath} is not sealed`)
      const deps = hashes(r.deps)!
      const item = envelopeOf({
        author: r.author,
        signature: r.signature,
        bytes: r.bytes,
        epoch: r.epoch,
        hash: r.hash,
        deps,
        m: hashes(r.membership_heads),
      })
      return { docId: r.doc_id, hash: r.hash, deps, item }
    })
  } finally {
    db.close()
  }
}
