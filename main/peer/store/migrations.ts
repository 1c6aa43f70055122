/**
 * Numbered schema migrations. Append only: a released migration is never edited.
 * `PRAGMA user_version` records how many have run.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);

  CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    joined_at INTEGER NOT NULL
  );

  -- Signed membership operations: the source of truth for who belongs to a workspace.
  CREATE TABLE membership_ops (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    hash TEXT NOT NULL,
    author TEXT NOT NULL,
    signature BLOB NOT NULL,
    bytes BLOB NOT NULL,
    arrived_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, hash)
  );

  -- Members as derived from membership_ops; rewritten whenever they change.
  CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    device_id TEXT NOT NULL,
    public_key BLOB NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, device_id)
  );

  CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    title TEXT NOT NULL DEFAULT '',
    heads TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    last_change_at INTEGER NOT NULL,
    last_change_by TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    change_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX documents_by_workspace ON documents (workspace_id, last_change_at DESC);

  -- The change log: every Automerge change with its author's signature, as it arrived.
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    author TEXT NOT NULL,
    signature BLOB NOT NULL,
    bytes BLOB NOT NULL,
    arrived_at INTEGER NOT NULL,
    UNIQUE (doc_id, hash)
  );
  CREATE INDEX changes_by_doc ON changes (doc_id, seq);

  -- Automerge.save() of a document covering every change with seq <= up_to_seq.
  CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    heads TEXT NOT NULL,
    up_to_seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    secret_hash BLOB NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by TEXT
  );

  CREATE TABLE peers (
    peer_id TEXT PRIMARY KEY,
    last_seen INTEGER,
    last_sync_at INTEGER
  );
  CREATE TABLE peer_addresses (
    peer_id TEXT NOT NULL,
    address TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (peer_id, address)
  );

  -- What each peer is known to hold of each document (from catch-up and head announcements).
  CREATE TABLE peer_doc_heads (
    peer_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    heads TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (peer_id, doc_id)
  );
  `,
  // 2: invites that need the inviter's approval; what this device has read and follows.
  `
  ALTER TABLE invites ADD COLUMN require_approval INTEGER NOT NULL DEFAULT 0;
  -- When a change by someone else last arrived (for unread): arrival, not authoring, time.
  ALTER TABLE documents ADD COLUMN last_remote_at INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE doc_reads (
    doc_id TEXT PRIMARY KEY,
    read_at INTEGER NOT NULL DEFAULT 0,
    followed INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 3: invites can be revoked, and a declined join uses its invite up (its holder cannot ask again).
  `
  ALTER TABLE invites ADD COLUMN revoked_at INTEGER;
  ALTER TABLE invites ADD COLUMN declined_at INTEGER;
  ALTER TABLE invites ADD COLUMN declined_by TEXT;
  CREATE INDEX invites_by_workspace ON invites (workspace_id, created_at);
  `,
  // 4: the membership heads each change was signed under (concatenated 32-byte op hashes); NULL for
  // changes stored before, which were signed without them and are judged by the author's current role.
  `
  ALTER TABLE changes ADD COLUMN membership_heads BLOB;
  `,
  // 5: sealed changes. `bytes` holds what the author signed: sealed under the key of `epoch` (hex),
  // with the change's Automerge deps in clear (concatenated 32-byte hashes) so that a peer that cannot
  // open it (a keeper) still knows where it sits. NULL for the clear changes of older versions.
  `
  ALTER TABLE changes ADD COLUMN epoch TEXT;
  ALTER TABLE changes ADD COLUMN deps BLOB;
  `,
  // 6: a snapshot carries the document's content at its heads (title, text, deleted), so that reading a
  // document not in memory needs no Automerge load when nothing came after the snapshot. NULL for older
  // snapshots (the document is loaded, as before, until its next snapshot).
  `
  ALTER TABLE snapshots ADD COLUMN title TEXT;
  ALTER TABLE snapshots ADD COLUMN text TEXT;
  ALTER TABLE snapshots ADD COLUMN deleted INTEGER;
  `,
  // 7: runs (sync/runs.ts). A row may hold several changes of its author, sealed and signed together:
  // `n` of them, `hash` the last one's, `deps` the first one's. Every row stored before is one change.
  `
  ALTER TABLE changes ADD COLUMN n INTEGER NOT NULL DEFAULT 1;
  `,
  // 8: where teammates say they can be reached (net/address-book.ts): each device's newest signed
  // address record as it travels among members (the CBOR of one \`addressRecord\`), by its count.
  `
  CREATE TABLE address_records (
    device TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL
  );
  `,
  // 9: full-text search over the documents this device can read (sync/search-index.ts): SQLite FTS5 over
  // title and text, one row per document, its rowid that of the document's row in search_docs. Filled
  // from the documents themselves (a profile from before is indexed at its next start).
  `
  CREATE TABLE search_docs (doc_id TEXT PRIMARY KEY);
  CREATE VIRTUAL TABLE search_fts USING fts5(
    title,
    body,
    workspace_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
  );
  `,
  // 10: a device's own changes of a document, newest first (delivery receipts: "Bob has your edits as of …").
  `
  CREATE INDEX changes_by_author ON changes (doc_id, author, seq);
  `,
  // 11: history (sync/history-index.ts): each document's editing sessions, one author's changes with no long
  // pause between them, kept from the document's own changes; how far each document is counted (its
  // heads then); teammates' time zones as presence last told them.
  `
  CREATE TABLE history_sessions (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    author TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    inserted INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    retitled INTEGER NOT NULL,
    version TEXT NOT NULL
  );
  CREATE INDEX history_by_doc ON history_sessions (doc_id, ended_at);
  CREATE TABLE history_progress (
    doc_id TEXT PRIMARY KEY,
    heads TEXT NOT NULL
  );
  CREATE TABLE device_zones (
    device TEXT PRIMARY KEY,
    utc_offset_minutes INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
  );
  `,
  // 12: the document's heads when this device last read it: what changed since is what "while you were away"
  // shows (sync/digest.ts) and what the editor marks.
  `
  ALTER TABLE doc_reads ADD COLUMN read_heads TEXT;
  `,
  // 13: compact columns in the change log (a row held its author's 52-character id, a 64-character hex hash
  // and a 32-character hex epoch, again in its indexes): hashes and epochs as bytes, authors as a number
  // into \`authors\`. The log is copied over in place; the store vacuums the file once after this migration.
  `
  CREATE TABLE authors (id INTEGER PRIMARY KEY, device TEXT NOT NULL UNIQUE);
  INSERT INTO authors (device) SELECT DISTINCT author FROM changes ORDER BY author;
  CREATE TABLE changes_13 (
    seq INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL,
    author INTEGER NOT NULL REFERENCES authors(id),
    signature BLOB NOT NULL,
    bytes BLOB NOT NULL,
    arrived_at INTEGER NOT NULL,
    membership_heads BLOB,
    epoch BLOB,
    deps BLOB,
    n INTEGER NOT NULL DEFAULT 1,
    UNIQUE (doc_id, hash)
  );
  INSERT INTO changes_13 (seq, doc_id, hash, author, signature, bytes, arrived_at, membership_heads, epoch, deps, n)
    SELECT c.seq, c.doc_id, unhex(c.hash), a.id, c.signature, c.bytes, c.arrived_at, c.membership_heads, unhex(c.epoch), c.deps, c.n
    FROM changes c JOIN authors a ON a.device = c.author ORDER BY c.seq;
  DROP TABLE changes;
  ALTER TABLE changes_13 RENAME TO changes;
  CREATE INDEX changes_by_doc ON changes (doc_id, seq);
  CREATE INDEX changes_by_author ON changes (doc_id, author, seq);
  `,
  // 14: the change log's other repeated columns as numbers (13 did hashes and authors): its document (a row held
  // its 32-character id, again in each of its three indexes) into \`doc_keys\`, its epoch and its membership heads
  // (the same few values on every row of a workspace) into \`epochs\` and \`mstates\`. A change typed with a teammate
  // online took 643 bytes here with its indexes, 424 after. The log is copied over in place; the store vacuums the
  // file once after this migration.
  `
  CREATE TABLE doc_keys (id INTEGER PRIMARY KEY, doc TEXT NOT NULL UNIQUE);
  INSERT INTO doc_keys (doc) SELECT DISTINCT doc_id FROM changes ORDER BY doc_id;
  CREATE TABLE epochs (id INTEGER PRIMARY KEY, epoch BLOB NOT NULL UNIQUE);
  INSERT INTO epochs (epoch) SELECT DISTINCT epoch FROM changes WHERE epoch IS NOT NULL ORDER BY epoch;
  CREATE TABLE mstates (id INTEGER PRIMARY KEY, heads BLOB NOT NULL UNIQUE);
  INSERT INTO mstates (heads) SELECT DISTINCT membership_heads FROM changes WHERE membership_heads IS NOT NULL ORDER BY membership_heads;
  CREATE TABLE changes_14 (
    seq INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL REFERENCES doc_keys(id),
    hash BLOB NOT NULL,
    author INTEGER NOT NULL REFERENCES authors(id),
    signature BLOB NOT NULL,
    bytes BLOB NOT NULL,
    arrived_at INTEGER NOT NULL,
    m INTEGER REFERENCES mstates(id),
    epoch INTEGER REFERENCES epochs(id),
    deps BLOB,
    n INTEGER NOT NULL DEFAULT 1,
    UNIQUE (doc, hash)
  );
  INSERT INTO changes_14 (seq, doc, hash, author, signature, bytes, arrived_at, m, epoch, deps, n)
    SELECT c.seq, k.id, c.hash, c.author, c.signature, c.bytes, c.arrived_at, s.id, e.id, c.deps, c.n
    FROM changes c JOIN doc_keys k ON k.doc = c.doc_id
      LEFT JOIN mstates s ON s.heads = c.membership_heads LEFT JOIN epochs e ON e.epoch = c.epoch
    ORDER BY c.seq;
  DROP TABLE changes;
  ALTER TABLE changes_14 RENAME TO changes;
  CREATE INDEX changes_by_doc ON changes (doc, seq);
  CREATE INDEX changes_by_author ON changes (doc, author, seq);
  `,
  // 15: covers (sync/covers.ts): one sealed bundle and one signature for several of an author's changes that
  // were sent alone, with every covered change's hash (\`k\`) and deps (\`kd\`, \`d\`) in clear. Each covered change
  // keeps its row in the log (its hash, deps, author, epoch and membership heads, so the history's graph stays
  // per change); a row that names its cover has no bytes or signature of its own (both empty).
  `
  CREATE TABLE covers (
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL REFERENCES doc_keys(id),
    author INTEGER NOT NULL REFERENCES authors(id),
    signature BLOB NOT NULL,
    bytes BLOB NOT NULL,
    m INTEGER REFERENCES mstates(id),
    epoch INTEGER NOT NULL REFERENCES epochs(id),
    d BLOB NOT NULL,
    k BLOB NOT NULL,
    kd BLOB NOT NULL,
    UNIQUE (doc, signature)
  );
  ALTER TABLE changes ADD COLUMN cover INTEGER REFERENCES covers(id);
  `,
]

/** The last migration that copies a table: the store vacuums the file once after it (the old pages are free). */
export const VACUUM_AFTER_MIGRATION = 14
