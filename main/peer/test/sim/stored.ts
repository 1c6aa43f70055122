/**
 * A peer's change log as it lies in its SQLite file, read through a read-only connection (as another
 * process would, while the peer runs): what the convergence checks compare, and what replays resend.
 */
import * as A from '@automerge/automerge'
import Database from 'better-sqlite3'
import { coverEnvelopeOf, envelopeOf } from '../../sync/change-validation.ts'
import { openContent } from '../../crypto/seal.ts'
import type { Peer } from '../../peer.ts'
import type { SignedChange } from '../../wire/peer-protocol.ts'

export interface StoredChange {
  docId: string
  /** The change's hash; of a run (sync/runs.ts), its last change's. */
  hash: string
  /** Its Automerge deps, signed in clear beside the sealed bytes; of a run, its first change's. */
  deps: string[]
  /** The hashes of the changes it holds: its own, or a run's, read with the opener if one was given. */
  holds: string[]
  item: SignedChange
}

/** Opens a stored run's sealed bundle. */
export type RunOpener = (row: { docId: string; epoch: string; author: string; bytes: Uint8Array }) => Uint8Array

/** Opens runs with the keys `peer` holds for workspace `ws`. */
export function runOpener(peer: Peer, ws: string): RunOpener {
  return (row) => {
    const key = peer.keys.key(ws, row.epoch)
    if (!key) throw new Error(`no key for epoch ${row.epoch} of ${ws} to open a run of ${row.docId}`)
    return openContent(key, row.bytes, { kind: 'run', subject: row.docId, author: row.author })
  }
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
  n: number
  cover: number | null
}

/** A cover's envelope (sync/covers.ts) as its rows' author signed it, read from the `covers` table (schema 15). */
function coverItem(db: Database.Database, id: number): SignedChange {
  const c = db
    .prepare(
      `SELECT a.device AS author, v.signature, v.bytes, s.heads AS m, lower(hex(e.epoch)) AS epoch, v.d, v.k, v.kd
        FROM covers v JOIN authors a ON a.id = v.author JOIN epochs e ON e.id = v.epoch LEFT JOIN mstates s ON s.id = v.m WHERE v.id = ?`,
    )
    .get(id) as {
    author: string
    signature: Uint8Array
    bytes: Uint8Array
    m: Uint8Array | null
    epoch: string
    d: Uint8Array
    k: Uint8Array
    kd: Uint8Array
  }
  return coverEnvelopeOf({ ...c, m: hashes(c.m), deps: hashes(c.d) ?? [] })
}

/** Every change stored in the database at `dbPath`, in arrival order; runs are opened with `open`, if given. */
export function storedChanges(dbPath: string, open?: RunOpener): StoredChange[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const rows = db
      // As the store reads its rows (schema 15): hashes as bytes; documents, authors, membership heads and epochs as numbers.
      .prepare(
        `SELECT k.doc AS doc_id, lower(hex(c.hash)) AS hash, a.device AS author, c.signature, c.bytes, s.heads AS membership_heads,
          CASE WHEN e.epoch IS NULL THEN NULL ELSE lower(hex(e.epoch)) END AS epoch, c.deps, c.n, c.cover
        FROM changes c JOIN authors a ON a.id = c.author JOIN doc_keys k ON k.id = c.doc
          LEFT JOIN mstates s ON s.id = c.m LEFT JOIN epochs e ON e.id = c.epoch ORDER BY c.seq`,
      )
      .all() as Row[]
    return rows.map((r) => {
      // Every change of this version is sealed, with its deps in clear: the simulation knows no older ones.
      if (r.epoch === null || r.deps === null) throw new Error(`change ${r.hash} of ${r.doc_id} in ${dbPath} is not sealed`)
      const deps = hashes(r.deps)!
      // A row a cover carries (sync/covers.ts) is sent as that cover, and holds its own change only.
      if (r.cover !== null) return { docId: r.doc_id, hash: r.hash, deps, holds: [r.hash], item: coverItem(db, r.cover) }
      const item = envelopeOf({
        author: r.author,
        signature: r.signature,
        bytes: r.bytes,
        epoch: r.epoch,
        hash: r.hash,
        deps,
        m: hashes(r.membership_heads),
        n: r.n,
      })
      const holds =
        r.n > 1 && open
          ? A.readBundle(open({ docId: r.doc_id, epoch: r.epoch, author: r.author, bytes: r.bytes })).changes.map((c) => c.hash)
          : [r.hash]
      return { docId: r.doc_id, hash: r.hash, deps, holds, item }
    })
  } finally {
    db.close()
  }
}
