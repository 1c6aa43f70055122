/**
 * "While you were away": what teammates changed in a document since this device last read it (its heads
 * then, kept with the read mark), from the document's own Automerge changes since those heads: who, how
 * many characters in and out, and the passages two people edited concurrently (neither had the other's
 * change when they made theirs), because a silent merge is where async teams lose each other's intent.
 *
 * A change's place is where its first and last text ops are now (Automerge cursors of the op ids resolve
 * deleted characters too, to where they were). Two changes are concurrent when neither is in the other's
 * causal past, worked out among the changes since the read heads only (everything before is common).
 */
import * as A from '@automerge/automerge'
import { changeEffect, contentObjects } from './change-effect.ts'
import type { WorkspaceDigest } from '../../../shared/types.ts'
import type { PeerStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { GDoc } from './doc-content.ts'
import type { Documents } from './documents.ts'

/** Changes compared for concurrent passages at most (the authors' counts cover every change). */
export const MAX_COMPARED_CHANGES = 4_000
/** Two edits this close (characters) are one passage. */
const NEAR = 24
/** Characters of a passage's text quoted on each side. */
const QUOTE = 40

export interface AuthorActivity {
  author: string
  inserted: number
  deleted: number
  changes: number
}

export interface Passage {
  /** Where the passage is in the text now. */
  from: number
  to: number
  /** Who edited it concurrently (two or more). */
  authors: string[]
  /** The text around it now. */
  excerpt: string
}

export interface SinceRead {
  authors: AuthorActivity[]
  passages: Passage[]
  /** False when there were too many changes to compare them (only the counts are given). */
  compared: boolean
  changes: number
  /** Counted from the start: who made the document (its first change's author); else null. */
  createdBy: string | null
}

/**
 * What changed in `doc` since `heads`, by whom (`authorOf` an actor): `self`'s own changes are left out of the
 * counts, not out of the passages (a passage the reader edited at the same time as a teammate is flagged).
 */
export function sinceHeads(
  doc: GDoc,
  heads: readonly string[],
  authorOf: (actor: string) => string,
  self: string,
  /** Only changes made at or after this (ms, their author's clock) count, when given. */
  afterTime?: number,
): SinceRead {
  const since = A.hasHeads(doc, [...heads]) ? [...heads] : []
  // What came since may have been made without changes read before (the reader's own, say): those are
  // compared too. They are the changes since where the new ones branched off (the deps they have from before).
  const fresh = A.getChangesMetaSince(doc, since)
  const isNew = new Set(fresh.map((m) => m.hash))
  const base = [...new Set(fresh.flatMap((m) => m.deps).filter((h) => !isNew.has(h)))]
  const all = since.length && base.length && !sameSet(base, since) ? A.getChangesMetaSince(doc, base) : fresh
  const objs = contentObjects(doc)
  const byAuthor = new Map<string, AuthorActivity>()
  const index = new Map<string, number>()
  const changes: Placed[] = []
  let createdBy: string | null = null
  const compare = all.length <= MAX_COMPARED_CHANGES
  for (const d of all) {
    const author = authorOf(d.actor)
    if (since.length === 0 && changes.length === 0) createdBy = author
    const isFresh = isNew.has(d.hash)
    index.set(d.hash, changes.length)
    const deps = d.deps.flatMap((h) => (index.has(h) ? [index.get(h)!] : []))
    const c: Placed = { author, deps, from: -1, to: -1, fresh: isFresh }
    changes.push(c)
    // Only the new ones are counted, and only those compared need measuring.
    if (!isFresh && !compare) continue
    if (afterTime !== undefined && d.time * 1000 < afterTime) continue
    const e = changeEffect(doc, d, objs)
    if (!e.edits) continue
    // The reader's own changes are not news to them, but a passage they edited while a teammate did is.
    if (author !== self && isFresh) {
      const a = byAuthor.get(author) ?? { author, inserted: 0, deleted: 0, changes: 0 }
      a.inserted += e.inserted
      a.deleted += e.deleted
      a.changes++
      byAuthor.set(author, a)
    }
    if (e.first && e.last && compare) {
      const at = (cursor: string): number | null => {
        try {
          return A.getCursorPosition(doc, ['text'], cursor)
        } catch {
          return null // not an element of the text (a large change's first or last op may be another)
        }
      }
      const p = at(e.first)
      const q = at(e.last)
      if (p === null || q === null) continue
      c.from = Math.min(p, q)
      c.to = Math.max(p, q) + 1
    }
  }
  const authors = [...byAuthor.values()]
  if (!compare) return { authors, passages: [], compared: false, changes: fresh.length, createdBy }
  return { authors, passages: concurrentPassages(doc, changes), compared: true, changes: fresh.length, createdBy }
}

/** What the peer needs to tell what teammates did in a workspace. */
export interface DigestComponents {
  store: Pick<PeerStore, 'listReads' | 'getWorkspace'>
  documents: Pick<Documents, 'list' | 'automerge'>
  workspaces: Pick<Workspaces, 'nameEver' | 'state'>
  /** Who made an actor's changes in a document (history-index.ts). */
  authors: (docId: string) => (actor: string) => string
  self: string
}

/**
 * "While you were away" for one workspace (`workspace.digest`): every document teammates changed since
 * this device read it (or, given `since`, made changes to since then), with who and how much, whether it
 * is new or deleted, and the passages edited concurrently; and the members added since this device last
 * read anything there (or joined).
 */
export function workspaceDigest(c: DigestComponents, workspaceId: string, since?: number): WorkspaceDigest {
  const { store, documents, workspaces, self } = c
  const reads = store.listReads()
  const rows = documents.list(workspaceId, true)
  // New members and documents: since this device last read anything here (or joined).
  const lastRead = Math.max(0, ...rows.map((r) => reads.get(r.id)?.readAt ?? 0))
  const from = since ?? (lastRead || (store.getWorkspace(workspaceId)?.joinedAt ?? 0))
  const name = (d: string): string => workspaces.nameEver(workspaceId, d)
  const docs = rows.flatMap((row) => {
    const read = reads.get(row.id)
    // By default, what came since this device read it; with `since`, what was made since then.
    if (since === undefined ? row.lastRemoteAt <= (read?.readAt ?? 0) : row.lastChangeAt < since) return []
    const base = since === undefined ? (read?.readHeads ?? []) : []
    const s = sinceHeads(documents.automerge(row.id), base, c.authors(row.id), self, since)
    // Made since, by someone else (its first change is theirs; counted from the start when never read or asked `since`).
    const created = row.createdAt > from && s.createdBy !== null && s.createdBy !== self
    if (s.authors.length === 0 && !created) return []
    return [
      {
        docId: row.id,
        title: row.title,
        created,
        deleted: row.deleted,
        authors: s.authors
          .filter((a) => a.author !== '')
          .map((a) => ({ deviceId: a.author, name: name(a.author), inserted: a.inserted, deleted: a.deleted, changes: a.changes })),
        passages: s.passages
          .filter((p) => p.authors.some((a) => a !== self))
          .map((p) => ({
            ...p,
            // The reader first, as "you".
            authors: [
              ...(p.authors.includes(self) ? ['you'] : []),
              ...p.authors
                .filter((a) => a !== self)
                .map((a) => (a ? name(a) : 'someone'))
                .sort(),
            ],
          })),
        compared: s.compared,
        readHeads: read?.readHeads ?? null,
      },
    ]
  })
  const state = workspaces.state(workspaceId)
  const members = [...(state?.members.values() ?? [])]
    .filter((m) => m.deviceId !== self && m.addedAt > from)
    .map((m) => ({ deviceId: m.deviceId, name: name(m.deviceId), role: m.role, addedAt: m.addedAt }))
  return { workspaceId, since: from, documents: docs, members }
}

/** A change among those compared: who, its deps among them, and where it is in the text now (-1: unknown). */
interface Placed {
  author: string
  deps: number[]
  from: number
  to: number
  /** It came since the heads read. */
  fresh: boolean
}

/** Passages where changes by different authors, neither in the other's past, are near each other. */
function concurrentPassages(doc: GDoc, changes: Placed[]): Passage[] {
  // Each change's ancestors among these, as bit sets (changes come in causal order).
  const words = Math.ceil(changes.length / 32)
  const anc = changes.map(() => new Uint32Array(words))
  for (const [i, c] of changes.entries())
    for (const d of c.deps) {
      const a = anc[i]!
      const b = anc[d]!
      for (let w = 0; w < words; w++) a[w]! |= b[w]!
      a[d >>> 5]! |= 1 << (d & 31)
    }
  const has = (i: number, j: number): boolean => (anc[i]![j >>> 5]! & (1 << (j & 31))) !== 0
  const placed = changes.map((c, i) => ({ ...c, i })).filter((c) => c.from >= 0)
  placed.sort((x, y) => x.from - y.from)
  const found: { from: number; to: number; authors: Set<string> }[] = []
  for (const [k, x] of placed.entries()) {
    for (let m = k + 1; m < placed.length && placed[m]!.from <= x.to + NEAR; m++) {
      const y = placed[m]!
      // One of the two at least came since the reader read: else it is old news.
      if (y.author === x.author || !(x.fresh || y.fresh) || has(x.i, y.i) || has(y.i, x.i)) continue
      found.push({ from: Math.min(x.from, y.from), to: Math.max(x.to, y.to), authors: new Set([x.author, y.author]) })
    }
  }
  // Overlapping finds are one passage.
  found.sort((a, b) => a.from - b.from)
  const merged: typeof found = []
  for (const f of found) {
    const last = merged.at(-1)
    if (last && f.from <= last.to + NEAR) {
      last.to = Math.max(last.to, f.to)
      for (const a of f.authors) last.authors.add(a)
    } else merged.push({ ...f, authors: new Set(f.authors) })
  }
  const text = typeof doc.text === 'string' ? doc.text : ''
  return merged.map((p) => {
    const from = Math.min(p.from, text.length)
    const to = Math.min(Math.max(p.to, from), text.length)
    const start = Math.max(0, from - QUOTE)
    const end = Math.min(text.length, to + QUOTE)
    const excerpt = `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`
    return { from, to, authors: [...p.authors].sort(), excerpt }
  })
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h))
}
