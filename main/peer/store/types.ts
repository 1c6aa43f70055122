/** What the peer keeps on disk. One implementation today: `SqliteStore`. */
import type { Role } from '../../../shared/types.ts'

export interface WorkspaceRow {
  id: string
  name: string
  ownerId: string
  createdAt: number
  joinedAt: number
}
export interface MemberRow {
  workspaceId: string
  deviceId: string
  publicKey: Uint8Array
  name: string
  role: Role
  addedBy: string
  addedAt: number
}
export interface SignedRecord {
  hash: string
  author: string
  signature: Uint8Array
  bytes: Uint8Array
}
/** A change as stored: its signed record and the membership heads it was signed under. */
export interface ChangeRecord extends SignedRecord {
  /** Hex op hashes; null or absent: signed by an older version (no heads). */
  m?: string[] | null
  /**
   * The epoch `bytes` is sealed under (hex); null or absent: an older version's change, in clear. An unsigned
   * change (an empty `signature`: this device's, made with no connection, sync/runs.ts) is in clear, to be
   * sealed under it.
   */
  epoch?: string | null
  /** Its Automerge deps (hex), kept with a sealed change; of a run, the deps of its first change. */
  deps?: string[] | null
  /** How many changes it holds: more than 1 for a run (sync/runs.ts), whose `hash` is its last change's. */
  n?: number
}
export interface ChangeRow extends SignedRecord {
  /** The membership heads it was signed under (hex); null: signed by an older version. */
  m: string[] | null
  /** The epoch `bytes` is sealed under (hex); null: an older version's change, in clear. */
  epoch: string | null
  /** Its Automerge deps (hex) when sealed (of a run: its first change's); null for an older version's change. */
  deps: string[] | null
  /** Changes it holds: 1, or more for a run of its author's (sync/runs.ts), whose `hash` is its last change's. */
  n: number
  /**
   * The cover that carries it (sync/covers.ts, `ChangeLog.getCover`), whose bytes and signature are its own:
   * its `bytes` and `signature` are then empty. Null: it carries itself.
   */
  cover: number | null
  seq: number
  docId: string
  arrivedAt: number
}
export interface DocumentRow {
  id: string
  workspaceId: string
  title: string
  heads: string[]
  createdAt: number
  lastChangeAt: number
  lastChangeBy: string | null
  deleted: boolean
  changeCount: number
  /** When a change by another device last arrived here. */
  lastRemoteAt: number
}
export interface SnapshotRow {
  docId: string
  bytes: Uint8Array
  heads: string[]
  upToSeq: number
  createdAt: number
  /** The document's content at `heads`; absent in snapshots of older versions. */
  content?: SnapshotContent
}
export interface SnapshotContent {
  title: string
  text: string
  deleted: boolean
}
export interface InviteRow {
  id: string
  workspaceId: string
  secretHash: Uint8Array
  role: Role
  createdAt: number
  expiresAt: number
  usedAt: number | null
  usedBy: string | null
  requireApproval: boolean
  revokedAt: number | null
  /** A join with it was turned down: it admits no one afterwards. */
  declinedAt: number | null
  declinedBy: string | null
}
/** This device's relation to a document: when it last saw it, and whether it follows it. */
export interface ReadRow {
  docId: string
  readAt: number
  followed: boolean
  /** Its heads when read (null: read before read heads were kept, or never). */
  readHeads: string[] | null
}
export interface PeerRow {
  peerId: string
  lastSeen: number | null
  lastSyncAt: number | null
  addresses: string[]
}

/** Group commits: every write resolves only once it is durable. */
export interface Durable {
  /** The database file. */
  readonly path: string
  /** Runs `fn` inside the next group commit; resolves with its result once that commit is on disk. */
  write<T>(fn: () => T): Promise<T>
  /**
   * As `write`, but commits now, with whatever was queued before it, instead of at the end of the turn:
   * the fsync then runs on the thread pool while the caller goes on (for a write someone waits on).
   * While an fsync runs already, it commits when that returns, with whatever queued meanwhile (group commit).
   */
  writeNow<T>(fn: () => T): Promise<T>
  /**
   * As `write`, but it may wait up to `withinMs` to commit together with later writes (kept in their
   * order; any `write` or `writeNow` meanwhile takes it along). For writes nobody waits on.
   */
  writeSoon<T>(fn: () => T, withinMs: number): Promise<T>
  /** Commits now whatever is queued (`writeSoon`'s writes included); resolves once that is durable, at once if nothing is. */
  commitQueued(): Promise<void>
  close(): void
}

/** Small settings and markers of this profile. */
export interface MetaStore {
  getMeta(key: string): Buffer | undefined
  setMeta(key: string, value: Uint8Array | string): void
  /** Every entry whose key starts with `prefix`, in key order (one range read of the key index). */
  metaWithPrefix(prefix: string): [key: string, value: Buffer][]
}

/** Workspaces, their signed membership ops, the members derived from them, and invites. */
export interface MembershipStore {
  putWorkspace(row: WorkspaceRow): void
  getWorkspace(id: string): WorkspaceRow | undefined
  listWorkspaces(): WorkspaceRow[]

  /** Inserts ops not yet known; returns how many were new. */
  addMembershipOps(workspaceId: string, ops: SignedRecord[], arrivedAt: number): number
  listMembershipOps(workspaceId: string): SignedRecord[]
  replaceMembers(workspaceId: string, members: MemberRow[]): void
  listMembers(workspaceId: string): MemberRow[]

  putInvite(row: InviteRow): void
  getInvite(id: string): InviteRow | undefined
  /** The workspace's invites, newest first, at most `limit`. */
  listInvites(workspaceId: string, limit: number): InviteRow[]
  /** Marks an open invite used; false if it was used, declined or revoked already. */
  useInvite(id: string, usedBy: string, at: number): boolean
  /** Marks an open invite declined (for `by`'s join); false if it was used, declined or revoked already. */
  declineInvite(id: string, by: string, at: number): boolean
  /** Marks an open invite revoked; false if it was used, declined or revoked already. */
  revokeInvite(id: string, at: number): boolean
}

/** The listing of documents (cached title, heads, last change) and what this device has read. */
export interface ListingStore {
  upsertDocument(row: DocumentRow): void
  getDocument(id: string): DocumentRow | undefined
  /** The workspace of a document that has a row (a document never moves to another), without reading the rest of it. */
  documentWorkspace(id: string): string | undefined
  listDocuments(workspaceId: string): DocumentRow[]

  /** Marks a document seen now (and followed), as it is at `heads`. */
  markRead(docId: string, at: number, heads?: string[]): void
  follow(docId: string): void
  listReads(): Map<string, ReadRow>
  /** One document's read mark, if it has one. */
  getRead(docId: string): ReadRow | undefined
}

/** The change log, as signed, and the snapshots that spare replaying it. */
/** A cover as stored (sync/covers.ts): its envelope's fields besides the covered changes' rows. */
export interface CoverRecord {
  author: string
  signature: Uint8Array
  /** The sealed bundle. */
  bytes: Uint8Array
  epoch: string
  m: string[] | null
  /** The deps outside the cover (hex), in the order `kd` names them. */
  deps: string[]
  /** Every covered change's hash, 32 bytes each, in the bundle's order. */
  k: Uint8Array
  /** The covered changes' deps as references (covers.ts `encodeCoverDeps`). */
  kd: Uint8Array
}

export interface ChangeLog {
  /**
   * Stores a cover and a row for each of its changes (`covered`, in its order) that the log lacks, naming it.
   * With `replace`, a covered change stored alone as an envelope of the cover's author gives up its bytes and
   * signature and names the cover instead (a reader's, once it has checked the cover against its bundle);
   * without, rows held are left as they are (a keeper's, which cannot check it). A cover stored before is
   * not stored again (its id is given). Returns its id and the rows that were new.
   */
  putCover(
    docId: string,
    cover: CoverRecord,
    covered: readonly { hash: string; deps: string[] }[],
    arrivedAt: number,
    replace: boolean,
  ): { id: number; added: ChangeRow[]; replaced: number }
  getCover(id: number): CoverRecord | undefined
  /**
   * The rows `author` could cover (sync/own-covers.ts): its sealed changes of the document stored alone (one
   * change each, with their own signature and membership heads, no cover), in log order.
   */
  coverable(docId: string, author: string): ChangeRow[]
  /**
   * Appends changes not yet known (by doc and hash); a run whose last change is held as a row of that change
   * alone takes that row's place, at the end of the log. Returns the rows that were new.
   */
  appendChanges(docId: string, changes: ChangeRecord[], arrivedAt: number): ChangeRow[]
  /**
   * Puts one run in place of the rows of the changes it holds (`hashes`, this device's own): at the
   * place of the last of them in the log, or at the end if none is stored. Returns the run's row.
   */
  replaceWithRun(docId: string, hashes: string[], run: ChangeRecord, arrivedAt: number): ChangeRow
  hasChange(docId: string, hash: string): boolean
  /** Removes the rows of `hashes` from the document's log (changes that do not apply: sync/quarantine.ts); returns how many it removed. */
  removeChanges(docId: string, hashes: readonly string[]): number
  /** When the newest change (or run) of `author` in the document arrived here, of those before `beforeSeq` if given; null: none. */
  newestArrivalBy(docId: string, author: string, beforeSeq?: number): number | null
  /** How many changes of `author` the document's log holds (a run counts its changes), and the first one's place in it. */
  countBy(docId: string, author: string): { changes: number; firstSeq: number | null }
  /** The place in the log of the first of `hashes`, in their order, that is a row of `author`'s (a run's row is its last change's hash). */
  firstSeqOf(docId: string, author: string, hashes: readonly string[]): number | null
  getChanges(docId: string, hashes: string[]): ChangeRow[]
  /** Each row's hash and deps (null: an older version's change, none kept), in log order; undefined if the document has more than `max` rows. */
  changeLinks(docId: string, max: number): { hash: string; deps: string[] | null }[] | undefined
  changesAfter(docId: string, seq: number): ChangeRow[]
  /** This device's changes stored unsigned, to be sealed into runs (sync/runs.ts), of every document, in log order. Reads the whole log. */
  unsignedChanges(): ChangeRow[]
  /** Changes logged after `seq` (a run counts its changes). */
  countChangesAfter(docId: string, seq: number): number
  /** Number of logged changes of every document (a run counts its changes). */
  changeCounts(): Map<string, number>
  /** Documents of the workspace with a change by any of `authors` (a revocation is rare: a scan is fine). */
  docsWrittenBy(workspaceId: string, authors: string[]): string[]

  putSnapshot(row: SnapshotRow): void
  getSnapshot(docId: string): SnapshotRow | undefined
  /** The snapshot's heads and content without its bytes; undefined if it has none (or no content). */
  getSnapshotContent(docId: string): (SnapshotContent & { heads: string[]; upToSeq: number }) | undefined
}

/** Teammates' devices: where they were seen, when they synced, and what they hold of each document. */
export interface PeerBook {
  notePeerSeen(peerId: string, addresses: string[], at: number): void
  notePeerSynced(peerId: string, at: number): void
  getPeer(peerId: string): PeerRow | undefined
  listPeers(): PeerRow[]

  /** Keeps `device`'s signed address record (its CBOR) if `seq` is newer than the one held; true if kept. */
  putAddressRecord(device: string, seq: number, record: Uint8Array): boolean
  /** Every address record held, each device's newest. */
  listAddressRecords(): { device: string; seq: number; record: Uint8Array }[]

  /**
   * Records that `peerId` held `heads` of `docId` at `at`, unless a record of a later moment is held:
   * a heads announcement written late (gossip batches them) must not undo what a catch-up that ended
   * after it recorded.
   */
  setPeerDocHeads(peerId: string, docId: string, heads: string[], at: number): void
  listPeerDocHeads(docId: string): { peerId: string; heads: string[]; updatedAt: number }[]
  /** What `peerId` is known to hold, by document (documents with no record are absent). */
  peerHeadsOf(peerId: string): Map<string, string[]>
}

/** A document found by full-text search. */
export interface SearchRow {
  docId: string
  workspaceId: string
  title: string
  /** A few words around the best hit, each hit between \u0002 and \u0003, cut parts marked with … */
  snippet: string
  /** The document's indexed text (to place the hit in it). */
  body: string
}

/** Full-text search over documents' titles and text (SQLite FTS5), kept current by sync/search-index.ts. */
export interface SearchStore {
  /** Replaces what is indexed of a document. */
  indexDocument(docId: string, workspaceId: string, title: string, text: string): void
  unindexDocument(docId: string): void
  /** Documents of `workspaceIds` matching `match` (an FTS5 query, built by the caller), best first. */
  searchDocuments(match: string, workspaceIds: string[], limit: number): SearchRow[]
  /** Forgets everything indexed (before a rebuild). */
  clearSearchIndex(): void
}

/** One editing session of a document: one author's changes with no long pause between them (sync/history-index.ts). */
export interface HistorySessionRow {
  id: number
  docId: string
  author: string
  /** When its first and last changes were made (ms, as their author's clock said, never after they arrived). */
  startedAt: number
  endedAt: number
  /** Characters of the text it inserted and deleted. */
  inserted: number
  deleted: number
  changes: number
  /** Whether it changed the title. */
  retitled: boolean
  /** Its last change's hash: the document as its author had it at the session's end. */
  version: string
}

/** Documents' editing sessions, kept by sync/history-index.ts from the documents' changes. */
export interface HistoryStore {
  /** The document's heads when its history was counted last (how far it is counted). */
  historyHeads(docId: string): string[] | undefined
  setHistoryHeads(docId: string, heads: string[]): void
  /** The author's session of the document, ending last, that a change made at `at` is within `gap` ms of, if any. */
  sessionNear(docId: string, author: string, at: number, gap: number): HistorySessionRow | undefined
  /** Adds a session (id 0) or replaces the one with its id; returns its id. */
  putSession(row: HistorySessionRow): number
  /** The document's sessions ending before `before` (ms; all if absent), the latest first. */
  listSessions(docId: string, limit: number, before?: number): HistorySessionRow[]
  /** The session whose version (last change) is `version`, or whose version starts with it if one only does. */
  findSession(docId: string, version: string): HistorySessionRow[]
  /** Hashes of the document's stored changes (a run's: its last) that start with `prefix`, at most `limit`. */
  changeHashesStartingWith(docId: string, prefix: string, limit: number): string[]
  /** Forgets a document's sessions and progress (before counting it again). */
  clearHistory(docId?: string): void
  /** Devices that signed changes of the document. */
  changeAuthors(docId: string): string[]
  setDeviceZone(device: string, utcOffsetMinutes: number, at: number): void
  deviceZones(): Map<string, number>
}

/**
 * The device's own record, by role; one SQLite file implements them all. A component that needs
 * one role can take just that (`Durable & ChangeLog`, say).
 */
export interface PeerStore extends Durable, MetaStore, MembershipStore, ListingStore, ChangeLog, PeerBook, SearchStore, HistoryStore {}
