/**
 * The behaviour every `PeerStore` must have, as a reusable suite (the pattern of automerge-repo's
 * `runStorageAdapterTests`): `runPeerStoreContract('SqliteStore', (p) => new SqliteStore(p))`.
 * Each test opens a store on a real file in its own temp folder and removes the folder afterwards.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../test/helpers.ts'
import type { ChangeRecord, CoverRecord, DocumentRow, InviteRow, MemberRow, PeerStore, SignedRecord, WorkspaceRow } from './types.ts'

const hex = (n: number): string => n.toString(16).padStart(64, '0')
const rec = (n: number, author = 'devA'): SignedRecord => ({
  hash: hex(n),
  author,
  signature: new Uint8Array(64).fill(n & 0xff),
  bytes: Uint8Array.from([n & 0xff, 1, 2, 3]),
})
const ws = (id: string, createdAt: number): WorkspaceRow => ({
  id,
  name: `ws ${id}`,
  ownerId: 'owner1',
  createdAt,
  joinedAt: createdAt + 1,
})
const doc = (id: string, workspaceId: string, lastChangeAt: number, extra: Partial<DocumentRow> = {}): DocumentRow => ({
  id,
  workspaceId,
  title: `title ${id}`,
  heads: [hex(lastChangeAt)],
  createdAt: 1,
  lastChangeAt,
  lastChangeBy: 'devA',
  deleted: false,
  changeCount: 0,
  lastRemoteAt: 0,
  ...extra,
})
const member = (deviceId: string, addedAt: number, role: MemberRow['role'] = 'editor'): MemberRow => ({
  workspaceId: 'w1',
  deviceId,
  publicKey: new Uint8Array(32).fill(addedAt),
  name: `name ${deviceId}`,
  role,
  addedBy: 'owner1',
  addedAt,
})
const invite = (id: string, workspaceId: string, createdAt: number): InviteRow => ({
  id,
  workspaceId,
  secretHash: new Uint8Array(32).fill(5),
  role: 'editor',
  createdAt,
  expiresAt: createdAt + 100,
  usedAt: null,
  usedBy: null,
  requireApproval: true,
  revokedAt: null,
  declinedAt: null,
  declinedBy: null,
})
/** What has happened to an invite. */
const pick = (r: InviteRow) => ({
  usedAt: r.usedAt,
  usedBy: r.usedBy,
  declinedAt: r.declinedAt,
  declinedBy: r.declinedBy,
  revokedAt: r.revokedAt,
})
/** Byte-equal regardless of Buffer vs Uint8Array. */
const bytes = (b: Uint8Array): number[] => [...b]
const plain = (r: SignedRecord) => ({ hash: r.hash, author: r.author, signature: bytes(r.signature), bytes: bytes(r.bytes) })

export function runPeerStoreContract(name: string, open: (path: string) => PeerStore): void {
  /** Opens a store in a fresh temp folder; closes it and removes the folder whatever happens. */
  async function withStore(fn: (store: PeerStore, reopen: () => PeerStore) => Promise<void> | void): Promise<void> {
    const dir = tempDir()
    const path = join(dir.path, 'store.db')
    let store = open(path)
    try {
      await fn(store, () => {
        store.close()
        store = open(path)
        return store
      })
    } finally {
      store.close()
      dir.remove()
    }
  }

  describe(`PeerStore contract: ${name}`, () => {
    test('meta: missing key, string and bytes round trip, overwrite', () =>
      withStore(async (s) => {
        assert.equal(s.getMeta('nope'), undefined)
        await s.write(() => {
          s.setMeta('text', 'héllo')
          s.setMeta('bin', Uint8Array.from([0, 255, 7]))
        })
        assert.equal(s.getMeta('text')?.toString('utf8'), 'héllo')
        assert.deepEqual(bytes(s.getMeta('bin')!), [0, 255, 7])
        await s.write(() => s.setMeta('text', 'second'))
        assert.equal(s.getMeta('text')?.toString('utf8'), 'second')
      }))

    test('meta: the entries under a prefix, and only those', () =>
      withStore(async (s) => {
        await s.write(() => {
          for (const k of ['kind:b', 'kind:a', 'kind', 'kinds:x', 'kind;', 'kind:\u{1F600}', 'other']) s.setMeta(k, `v ${k}`)
        })
        assert.deepEqual(
          s.metaWithPrefix('kind:').map(([k, v]) => [k, v.toString('utf8')]),
          [
            ['kind:a', 'v kind:a'],
            ['kind:b', 'v kind:b'],
            ['kind:\u{1F600}', 'v kind:\u{1F600}'],
          ],
        )
        assert.deepEqual(s.metaWithPrefix('none:'), [])
      }))

    test('workspaces: put, get, list by creation time; a re-put renames but keeps joinedAt', () =>
      withStore(async (s) => {
        assert.equal(s.getWorkspace('w1'), undefined)
        await s.write(() => {
          s.putWorkspace(ws('w2', 200))
          s.putWorkspace(ws('w1', 100))
        })
        assert.deepEqual(s.getWorkspace('w1'), ws('w1', 100))
        assert.deepEqual(
          s.listWorkspaces().map((w) => w.id),
          ['w1', 'w2'],
        )
        await s.write(() => s.putWorkspace({ ...ws('w1', 100), name: 'Renamed', joinedAt: 999 }))
        assert.deepEqual(s.getWorkspace('w1'), { ...ws('w1', 100), name: 'Renamed' })
      }))

    test('membership ops: insert counts only new ones, per workspace', () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          s.putWorkspace(ws('w2', 2))
        })
        assert.equal(await s.write(() => s.addMembershipOps('w1', [rec(1), rec(2)], 10)), 2)
        assert.equal(await s.write(() => s.addMembershipOps('w1', [rec(2), rec(3), rec(3)], 11)), 1)
        assert.equal(await s.write(() => s.addMembershipOps('w1', [rec(1)], 12)), 0)
        assert.equal(await s.write(() => s.addMembershipOps('w2', [rec(1)], 13)), 1)
        assert.deepEqual(s.listMembershipOps('w1').map(plain), [rec(1), rec(2), rec(3)].map(plain))
        assert.deepEqual(s.listMembershipOps('w2').map(plain), [plain(rec(1))])
        assert.deepEqual(s.listMembershipOps('unknown'), [])
      }))

    test('members: replace swaps the whole set; list by addedAt', () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          s.putWorkspace({ ...ws('w2', 2) })
        })
        await s.write(() => s.replaceMembers('w1', [member('b', 2), member('a', 1, 'owner'), member('c', 3, 'viewer')]))
        await s.write(() => s.replaceMembers('w2', [{ ...member('z', 1), workspaceId: 'w2' }]))
        const listed = s.listMembers('w1')
        assert.deepEqual(
          listed.map((m) => [m.deviceId, m.role]),
          [
            ['a', 'owner'],
            ['b', 'editor'],
            ['c', 'viewer'],
          ],
        )
        assert.deepEqual(
          { ...listed[1]!, publicKey: bytes(listed[1]!.publicKey) },
          { ...member('b', 2), publicKey: bytes(member('b', 2).publicKey) },
        )
        await s.write(() => s.replaceMembers('w1', [member('a', 1, 'owner')]))
        assert.deepEqual(
          s.listMembers('w1').map((m) => m.deviceId),
          ['a'],
        )
        assert.deepEqual(
          s.listMembers('w2').map((m) => m.deviceId),
          ['z'],
        )
      }))

    test('documents: upsert, get, newest first, deleted flag, update in place', () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          s.putWorkspace(ws('w2', 2))
        })
        assert.equal(s.getDocument('d1'), undefined)
        await s.write(() => {
          s.upsertDocument(doc('d1', 'w1', 100))
          s.upsertDocument(doc('d2', 'w1', 300, { deleted: true, lastChangeBy: null, heads: [] }))
          s.upsertDocument(doc('d3', 'w1', 200, { heads: [hex(1), hex(2)] }))
          s.upsertDocument(doc('d4', 'w2', 500))
        })
        assert.deepEqual(s.getDocument('d1'), doc('d1', 'w1', 100))
        assert.deepEqual(s.getDocument('d2'), doc('d2', 'w1', 300, { deleted: true, lastChangeBy: null, heads: [] }))
        assert.deepEqual(s.getDocument('d3')?.heads, [hex(1), hex(2)])
        assert.deepEqual(
          s.listDocuments('w1').map((d) => d.id),
          ['d2', 'd3', 'd1'],
        )
        await s.write(() => s.upsertDocument(doc('d1', 'w1', 400, { title: 'New', changeCount: 7, deleted: true })))
        assert.deepEqual(s.getDocument('d1'), doc('d1', 'w1', 400, { title: 'New', changeCount: 7, deleted: true }))
        assert.deepEqual(
          s.listDocuments('w1').map((d) => d.id),
          ['d1', 'd2', 'd3'],
        )
        assert.deepEqual(
          s.listDocuments('w2').map((d) => d.id),
          ['d4'],
        )
      }))

    test("documents: a document's workspace, read alone; none for a document without a row, or one rolled back", () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          s.putWorkspace(ws('w2', 2))
        })
        assert.equal(s.documentWorkspace('d1'), undefined)
        await s.write(() => {
          s.upsertDocument(doc('d1', 'w1', 100))
          s.upsertDocument(doc('d4', 'w2', 500))
        })
        assert.equal(s.documentWorkspace('d1'), 'w1')
        assert.equal(s.documentWorkspace('d4'), 'w2')
        assert.equal(s.documentWorkspace('d1'), 'w1', 'asked again')
        // Read inside a write that then fails: the row is gone, and so is the answer.
        await assert.rejects(
          s.write(() => {
            s.upsertDocument(doc('d9', 'w2', 600))
            assert.equal(s.documentWorkspace('d9'), 'w2')
            throw new Error('rolled back')
          }),
        )
        assert.equal(s.getDocument('d9'), undefined)
        assert.equal(s.documentWorkspace('d9'), undefined)
        await s.write(() => s.upsertDocument(doc('d1', 'w1', 700, { title: 'Renamed' })))
        assert.equal(s.documentWorkspace('d1'), 'w1')
      }))

    test('read marks: when, the heads read (kept when a later mark names none), followed; one or all', () =>
      withStore(async (s) => {
        assert.equal(s.getRead('d1'), undefined)
        await s.write(() => {
          s.markRead('d1', 100, [hex(1)])
          s.follow('d2')
        })
        assert.deepEqual(s.getRead('d1'), { docId: 'd1', readAt: 100, followed: true, readHeads: [hex(1)] })
        assert.deepEqual(s.getRead('d2'), { docId: 'd2', readAt: 0, followed: true, readHeads: null })
        await s.write(() => s.markRead('d1', 200))
        assert.deepEqual(s.getRead('d1'), { docId: 'd1', readAt: 200, followed: true, readHeads: [hex(1)] })
        assert.deepEqual([...s.listReads().values()], [s.getRead('d1'), s.getRead('d2')])
      }))

    test('appendChanges: dedupe by (doc, hash), returns only new rows with increasing seq', () =>
      withStore(async (s) => {
        const first = await s.write(() => s.appendChanges('d1', [rec(1), rec(2), rec(2)], 50))
        assert.deepEqual(
          first.map((c) => [c.hash, c.docId, c.arrivedAt]),
          [
            [hex(1), 'd1', 50],
            [hex(2), 'd1', 50],
          ],
        )
        assert.deepEqual(plain(first[0]!), plain(rec(1)))
        const second = await s.write(() => s.appendChanges('d1', [rec(2), rec(3), rec(1)], 60))
        assert.deepEqual(
          second.map((c) => c.hash),
          [hex(3)],
        )
        const other = await s.write(() => s.appendChanges('d2', [rec(1)], 70))
        assert.equal(other.length, 1, 'the same hash in another document is a different change')
        const seqs = [...first, ...second, ...other].map((c) => c.seq)
        for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `seq increases: ${seqs}`)
        assert.deepEqual(await s.write(() => s.appendChanges('d1', [], 80)), [])
      }))

    test("a write that fails leaves nothing of itself behind: not an author's number nor a document's workspace, kept or stored", () =>
      withStore(async (s, reopen) => {
        await s.write(() => s.putWorkspace(ws('w1', 1)))
        // devX's first change and document d9 are written by a write that then fails (rolled back).
        await assert.rejects(
          s.write(() => {
            s.appendChanges('d1', [rec(1, 'devX')], 10)
            s.upsertDocument(doc('d9', 'w1', 10))
            assert.equal(s.documentWorkspace('d9'), 'w1', 'seen inside the write')
            throw new Error('this write fails')
          }),
          /this write fails/,
        )
        assert.equal(s.documentWorkspace('d9'), undefined, 'the failed write made no document')
        // Another device's change takes the next author number: devX's, had it been kept, would now name devY.
        await s.write(() => s.appendChanges('d1', [rec(2, 'devY')], 20))
        await s.write(() => s.appendChanges('d1', [rec(3, 'devX'), rec(4, 'devY'), rec(5, 'devX')], 30))
        const authors = (st: PeerStore): string[][] => st.changesAfter('d1', 0).map((c) => [c.hash.slice(-1), c.author])
        const expected = [
          ['2', 'devY'],
          ['3', 'devX'],
          ['4', 'devY'],
          ['5', 'devX'],
        ]
        assert.deepEqual(authors(s), expected)
        assert.deepEqual(authors(reopen()), expected, 'as stored')
      }))

    test('getChanges of many hashes, few or most of them stored (a catch-up of runs, of covers), gives what one-by-one lookups give, in the order asked', () =>
      withStore(async (s) => {
        // 40 rows in d1, 5 in d2 (with hashes d1 also asks for); 600 hashes asked, 30 of them stored in d1.
        await s.write(() =>
          s.appendChanges(
            'd1',
            Array.from({ length: 40 }, (_, i) => rec(1000 + i)),
            5,
          ),
        )
        await s.write(() =>
          s.appendChanges(
            'd2',
            [1000, 1001, 5000, 5001, 5002].map((n) => rec(n, 'devB')),
            6,
          ),
        )
        const asked = Array.from({ length: 600 }, (_, i) => hex(i % 20 === 0 ? 1000 + (((i / 20) * 3) % 40) : 5000 + i))
        asked.push('not a hash', hex(1039))
        const many = s.getChanges('d1', asked)
        const one = asked.flatMap((h) => s.getChanges('d1', [h]))
        assert.ok(many.length === 31 && one.length === 31, `31 rows (${many.length}, ${one.length})`)
        assert.deepEqual(many.map(plain), one.map(plain))
        assert.deepEqual(
          many.map((c) => [c.hash, c.docId]),
          one.map((c) => [c.hash, 'd1']),
        )
        assert.deepEqual(s.getChanges('d3', asked), [])
        // Most of a document asked (read in one pass), and a part of one (read row by row).
        await s.write(() =>
          s.appendChanges(
            'd4',
            Array.from({ length: 300 }, (_, i) => rec(7000 + i)),
            7,
          ),
        )
        for (const stored of [280, 100]) {
          const part = Array.from({ length: 300 }, (_, i) => hex(i < stored ? 7000 + ((i * 7) % 300) : 9000 + i)).reverse()
          const got = s.getChanges('d4', part)
          assert.equal(got.length, stored)
          assert.deepEqual(got.map(plain), part.flatMap((h) => s.getChanges('d4', [h])).map(plain), `${stored} of 300 asked`)
        }
      }))

    test("removeChanges removes the document's rows of those hashes only, and says how many", () =>
      withStore(async (s) => {
        await s.write(() => s.appendChanges('d1', [rec(1), rec(2), rec(3)], 5))
        await s.write(() => s.appendChanges('d2', [rec(2, 'devB')], 6))
        assert.equal(await s.write(() => s.removeChanges('d1', [hex(2), hex(7)])), 1)
        assert.deepEqual(
          s.changesAfter('d1', 0).map((c) => c.hash),
          [hex(1), hex(3)],
        )
        assert.equal(s.hasChange('d2', hex(2)), true, "another document's row of the same hash stays")
        assert.equal(await s.write(() => s.removeChanges('d1', [])), 0)
      }))

    test('hasChange, getChanges, changesAfter, countChangesAfter, changeCounts', () =>
      withStore(async (s) => {
        const rows = await s.write(() => s.appendChanges('d1', [rec(1), rec(2), rec(3)], 5))
        await s.write(() => s.appendChanges('d2', [rec(9, 'devB')], 6))
        assert.equal(s.hasChange('d1', hex(2)), true)
        assert.equal(s.hasChange('d2', hex(2)), false)
        assert.equal(s.hasChange('d3', hex(1)), false)
        const got = s.getChanges('d1', [hex(3), hex(7), hex(1)])
        assert.deepEqual(
          got.map((c) => c.hash),
          [hex(3), hex(1)],
        )
        assert.deepEqual([got[0]!.seq, got[0]!.docId, got[0]!.arrivedAt], [rows[2]!.seq, 'd1', 5])
        assert.deepEqual(plain(got[0]!), plain(rec(3)))
        assert.deepEqual(
          s.changesAfter('d1', 0).map((c) => c.hash),
          [hex(1), hex(2), hex(3)],
        )
        assert.deepEqual(
          s.changesAfter('d1', rows[0]!.seq).map((c) => c.seq),
          [rows[1]!.seq, rows[2]!.seq],
        )
        assert.deepEqual(s.changesAfter('d1', rows[2]!.seq), [])
        assert.equal(s.countChangesAfter('d1', 0), 3)
        assert.equal(s.countChangesAfter('d1', rows[1]!.seq), 1)
        assert.equal(s.countChangesAfter('nope', 0), 0)
        assert.deepEqual(
          s.changeCounts(),
          new Map([
            ['d1', 3],
            ['d2', 1],
          ]),
        )
      }))

    test("a run takes the place of the rows of its changes, at the last one's place, and counts the changes it holds", () =>
      withStore(async (s) => {
        const sealed = (n: number): ChangeRecord => ({ ...rec(n), epoch: 'e'.repeat(32), deps: [hex(n - 1)], m: [hex(100)] })
        const rows = await s.write(() => s.appendChanges('d1', [1, 2, 3, 4, 5].map(sealed), 5))
        const run: ChangeRecord = { ...sealed(4), deps: [hex(1)], bytes: Uint8Array.from([9, 9]), n: 3 }
        const row = await s.write(() => s.replaceWithRun('d1', [hex(2), hex(3), hex(4)], run, 7))
        assert.equal(row.seq, rows[3]!.seq, 'at the place of its last change')
        assert.deepEqual(
          s.changesAfter('d1', 0).map((c) => [c.hash, c.n]),
          [
            [hex(1), 1],
            [hex(4), 3],
            [hex(5), 1],
          ],
        )
        const stored = s.getChanges('d1', [hex(4)])[0]!
        assert.deepEqual([bytes(stored.bytes), stored.deps, stored.m, stored.arrivedAt], [[9, 9], [hex(1)], [hex(100)], 7])
        assert.equal(s.hasChange('d1', hex(3)), false, 'a change inside a run has no row of its own')
        assert.equal(s.countChangesAfter('d1', 0), 5)
        assert.equal(s.countChangesAfter('d1', rows[0]!.seq), 4)
        assert.deepEqual(s.changeCounts(), new Map([['d1', 5]]))
        // An author's changes counted without their bytes (a run counts its changes), and where the first of some is.
        const author = rec(1).author
        assert.deepEqual(s.countBy('d1', author), { changes: 5, firstSeq: rows[0]!.seq })
        assert.deepEqual(s.countBy('d1', 'someone else'), { changes: 0, firstSeq: null })
        assert.equal(s.firstSeqOf('d1', author, [hex(99), hex(3), hex(4), hex(5)]), rows[3]!.seq, 'the first that has a row')
        assert.equal(s.firstSeqOf('d1', author, [hex(5), hex(1)]), rows[4]!.seq, 'in the order given')
        assert.equal(s.firstSeqOf('d1', 'someone else', [hex(1)]), null)
        assert.equal(s.firstSeqOf('d1', author, []), null)
        // None of its changes stored (their commit was lost): the run goes at the end.
        const late = await s.write(() => s.replaceWithRun('d1', [hex(7), hex(8)], { ...sealed(8), deps: [hex(6)], n: 2 }, 8))
        assert.ok(late.seq > rows[4]!.seq)
      }))

    test('covers: a row for each covered change the log lacks; envelopes of its author give their bytes up to it at a reader only', () =>
      withStore(async (s, reopen) => {
        const sealed = (n: number, author = 'devA'): ChangeRecord => ({
          ...rec(n, author),
          epoch: 'e'.repeat(32),
          deps: [hex(n - 1)],
          m: [hex(100)],
        })
        // Held alone: 2 and 3 of devA's (envelopes), 4 of devB's; 5 of devA's as a run of 2.
        const held = await s.write(() => s.appendChanges('d1', [sealed(2), sealed(3), sealed(4, 'devB'), { ...sealed(5), n: 2 }], 5))
        const cover: CoverRecord = {
          author: 'devA',
          signature: new Uint8Array(64).fill(7),
          bytes: Uint8Array.from([1, 2, 3]),
          epoch: 'e'.repeat(32),
          m: [hex(100)],
          deps: [hex(1)],
          k: Uint8Array.from([9]),
          kd: Uint8Array.from([8]),
        }
        const covered = [1, 2, 3, 4, 5, 6].map((n) => ({ hash: hex(n + 1), deps: [hex(n)] }))
        // A keeper's: only the rows it lacks.
        const kept = await s.write(() => s.putCover('d1', cover, covered, 9, false))
        assert.deepEqual(
          kept.added.map((r) => [r.hash, r.cover, r.n, r.signature.byteLength, r.bytes.byteLength, r.deps]),
          [
            [hex(6), kept.id, 1, 0, 0, [hex(5)]],
            [hex(7), kept.id, 1, 0, 0, [hex(6)]],
          ],
        )
        assert.equal(kept.replaced, 0)
        assert.deepEqual(bytes(s.getChanges('d1', [hex(2)])[0]!.bytes), bytes(held[0]!.bytes), 'an envelope held stays as it is')
        // The same cover again (a reader now): nothing new, the envelopes of devA alone give their bytes up.
        const again = await s.write(() => s.putCover('d1', cover, covered, 10, true))
        assert.equal(again.id, kept.id, 'stored once')
        assert.deepEqual(again.added, [])
        assert.equal(again.replaced, 2)
        const rows = reopen().changesAfter('d1', 0)
        assert.deepEqual(
          rows.map((r) => [r.hash, r.cover === kept.id, r.signature.byteLength]),
          [
            [hex(2), true, 0],
            [hex(3), true, 0],
            [hex(4), false, 64],
            [hex(5), false, 64],
            [hex(6), true, 0],
            [hex(7), true, 0],
          ],
          "devB's envelope and the run keep theirs",
        )
        const got = reopen().getCover(kept.id)!
        assert.deepEqual(
          { ...got, signature: bytes(got.signature), bytes: bytes(got.bytes), k: bytes(got.k), kd: bytes(got.kd) },
          { ...cover, signature: bytes(cover.signature), bytes: bytes(cover.bytes), k: [9], kd: [8] },
        )
        const s2 = reopen()
        assert.equal(s2.getCover(kept.id + 1), undefined)
        assert.ok(
          [2, 3, 6, 7].every((n) => s2.hasChange('d1', hex(n))),
          'every covered change has its row',
        )
        assert.deepEqual(s2.unsignedChanges(), [], 'rows a cover carries are not unsigned changes')
        assert.equal(s2.countChangesAfter('d1', 0), 7)
        assert.deepEqual(s2.countBy('d1', 'devA'), { changes: 6, firstSeq: held[0]!.seq })
      }))

    test("appendChanges: a run over a row of its last change alone (an envelope, a cover's row) takes its place at the end of the log; never over a run", () =>
      withStore(async (s, reopen) => {
        const sealed = (n: number): ChangeRecord => ({ ...rec(n), epoch: 'e'.repeat(32), deps: [hex(n - 1)], m: [hex(100)] })
        const run = (n: number, of: number): ChangeRecord => ({ ...sealed(n), deps: [hex(n - of)], bytes: Uint8Array.from([of]), n: of })
        // 3 alone, 5 a cover's row (the cover brings 4 too), then 9, the last row of the log, alone.
        await s.write(() => s.appendChanges('d1', [sealed(3)], 5))
        const cover: CoverRecord = {
          author: 'devA',
          signature: new Uint8Array(64).fill(7),
          bytes: Uint8Array.from([1]),
          epoch: 'e'.repeat(32),
          m: [hex(100)],
          deps: [hex(3)],
          k: Uint8Array.from([9]),
          kd: Uint8Array.from([8]),
        }
        await s.write(() =>
          s.putCover(
            'd1',
            cover,
            [4, 5].map((n) => ({ hash: hex(n), deps: [hex(n - 1)] })),
            6,
            true,
          ),
        )
        const nine = await s.write(() => s.appendChanges('d1', [sealed(9)], 7))
        // Runs ending in 3, 5 and 9 come: each takes its row's place, after every row there was.
        const added = await s.write(() => s.appendChanges('d1', [run(3, 3), run(5, 2), run(9, 4)], 8))
        assert.deepEqual(
          added.map((r) => [r.hash, r.n, r.cover]),
          [
            [hex(3), 3, null],
            [hex(5), 2, null],
            [hex(9), 4, null],
          ],
        )
        for (let i = 0; i < added.length; i++) assert.ok(added[i]!.seq > (i ? added[i - 1]!.seq : nine[0]!.seq), 'at the end, in order')
        const s2 = reopen()
        const rows = s2.changesAfter('d1', 0)
        assert.deepEqual(
          rows.map((r) => [r.hash, r.n, r.seq, bytes(r.bytes), r.deps]),
          [[hex(4), 1, rows[0]!.seq, [], [hex(3)]], ...added.map((r, i) => [r.hash, r.n, r.seq, [r.n], [hex([0, 3, 5][i]!)]])],
          "the cover's other row stays; each run with its own bytes and first deps",
        )
        // A run, or a change, over a run: nothing moves.
        const seqs = rows.map((r) => r.seq)
        assert.deepEqual(await s2.write(() => s2.appendChanges('d1', [run(9, 2), sealed(5), run(3, 3)], 9)), [])
        const s3 = reopen()
        assert.deepEqual(
          s3.changesAfter('d1', 0).map((r) => r.seq),
          seqs,
        )
        assert.equal(s3.countChangesAfter('d1', 0), 10)
      }))

    test('snapshots: put, get, replace', () =>
      withStore(async (s) => {
        assert.equal(s.getSnapshot('d1'), undefined)
        await s.write(() => s.putSnapshot({ docId: 'd1', bytes: Uint8Array.from([1, 2]), heads: [hex(1)], upToSeq: 4, createdAt: 10 }))
        const a = s.getSnapshot('d1')!
        assert.deepEqual({ ...a, bytes: bytes(a.bytes) }, { docId: 'd1', bytes: [1, 2], heads: [hex(1)], upToSeq: 4, createdAt: 10 })
        await s.write(() => s.putSnapshot({ docId: 'd1', bytes: Uint8Array.from([3]), heads: [hex(2), hex(3)], upToSeq: 9, createdAt: 20 }))
        const b = s.getSnapshot('d1')!
        assert.deepEqual({ ...b, bytes: bytes(b.bytes) }, { docId: 'd1', bytes: [3], heads: [hex(2), hex(3)], upToSeq: 9, createdAt: 20 })
        assert.equal(s.getSnapshotContent('d1'), undefined, 'a snapshot without content has none to give')
      }))

    test('snapshots carry the content at their heads, read without the bytes', () =>
      withStore(async (s) => {
        const content = { title: 'Plan', text: 'line one\nline two', deleted: false }
        await s.write(() =>
          s.putSnapshot({ docId: 'd1', bytes: Uint8Array.from([1]), heads: [hex(1)], upToSeq: 4, createdAt: 10, content }),
        )
        assert.deepEqual(s.getSnapshot('d1')!.content, content)
        assert.deepEqual(s.getSnapshotContent('d1'), { ...content, heads: [hex(1)], upToSeq: 4 })
        // Replaced by a snapshot of an older version's kind (no content): none is given, never the old one.
        await s.write(() => s.putSnapshot({ docId: 'd1', bytes: Uint8Array.from([2]), heads: [hex(2)], upToSeq: 5, createdAt: 11 }))
        assert.equal(s.getSnapshotContent('d1'), undefined)
        await s.write(() =>
          s.putSnapshot({
            docId: 'd1',
            bytes: Uint8Array.from([3]),
            heads: [hex(3)],
            upToSeq: 6,
            createdAt: 12,
            content: { ...content, deleted: true },
          }),
        )
        assert.equal(s.getSnapshotContent('d1')!.deleted, true)
      }))

    test('invites: put, get, useInvite succeeds only once', () =>
      withStore(async (s) => {
        await s.write(() => s.putWorkspace(ws('w1', 1)))
        const row = {
          id: 'inv1',
          workspaceId: 'w1',
          secretHash: new Uint8Array(32).fill(5),
          role: 'viewer' as const,
          createdAt: 10,
          expiresAt: 20,
          usedAt: null,
          usedBy: null,
          requireApproval: false,
          revokedAt: null,
          declinedAt: null,
          declinedBy: null,
        }
        assert.equal(s.getInvite('inv1'), undefined)
        await s.write(() => s.putInvite(row))
        const got = s.getInvite('inv1')!
        assert.deepEqual({ ...got, secretHash: bytes(got.secretHash) }, { ...row, secretHash: bytes(row.secretHash) })
        const uses = await Promise.all([
          s.write(() => s.useInvite('inv1', 'joinerA', 15)),
          s.write(() => s.useInvite('inv1', 'joinerB', 16)),
        ])
        assert.deepEqual(uses, [true, false])
        assert.equal(await s.write(() => s.useInvite('inv1', 'joinerC', 17)), false)
        assert.deepEqual([s.getInvite('inv1')?.usedAt, s.getInvite('inv1')?.usedBy], [15, 'joinerA'])
        assert.equal(await s.write(() => s.useInvite('unknown', 'joinerA', 18)), false)
        // A used invite cannot be declined or revoked afterwards.
        assert.equal(await s.write(() => s.declineInvite('inv1', 'joinerB', 19)), false)
        assert.equal(await s.write(() => s.revokeInvite('inv1', 20)), false)
        assert.deepEqual([s.getInvite('inv1')?.declinedAt, s.getInvite('inv1')?.revokedAt], [null, null])
      }))

    test('invites: declined or revoked closes an open invite once, and nothing else happens to it after', () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          for (const id of ['d', 'r']) s.putInvite(invite(id, 'w1', 10))
        })
        const declines = await Promise.all([
          s.write(() => s.declineInvite('d', 'joinerA', 11)),
          s.write(() => s.declineInvite('d', 'joinerB', 12)),
        ])
        assert.deepEqual(declines, [true, false])
        assert.equal(await s.write(() => s.useInvite('d', 'joinerA', 13)), false, 'a declined invite admits no one')
        assert.equal(await s.write(() => s.revokeInvite('d', 14)), false)
        assert.deepEqual(pick(s.getInvite('d')!), { usedAt: null, usedBy: null, declinedAt: 11, declinedBy: 'joinerA', revokedAt: null })
        assert.equal(await s.write(() => s.revokeInvite('r', 15)), true)
        assert.equal(await s.write(() => s.revokeInvite('r', 16)), false)
        assert.equal(await s.write(() => s.useInvite('r', 'joinerA', 17)), false, 'a revoked invite admits no one')
        assert.equal(await s.write(() => s.declineInvite('r', 'joinerA', 18)), false)
        assert.deepEqual(pick(s.getInvite('r')!), { usedAt: null, usedBy: null, declinedAt: null, declinedBy: null, revokedAt: 15 })
        assert.equal(await s.write(() => s.revokeInvite('unknown', 19)), false)
      }))

    test('invites: listed per workspace, newest first, at most the limit', () =>
      withStore(async (s) => {
        await s.write(() => {
          s.putWorkspace(ws('w1', 1))
          s.putWorkspace(ws('w2', 1))
          s.putInvite(invite('a', 'w1', 30))
          s.putInvite(invite('b', 'w1', 10))
          s.putInvite(invite('c', 'w2', 20))
          s.putInvite(invite('d', 'w1', 20))
        })
        assert.deepEqual(
          s.listInvites('w1', 10).map((i) => i.id),
          ['a', 'd', 'b'],
        )
        assert.deepEqual(
          s.listInvites('w1', 2).map((i) => i.id),
          ['a', 'd'],
        )
        assert.deepEqual(
          s.listInvites('w2', 10).map((i) => i.id),
          ['c'],
        )
        assert.deepEqual(s.listInvites('w3', 10), [])
        const listed = s.listInvites('w1', 10)[0]!
        assert.deepEqual(
          { ...listed, secretHash: bytes(listed.secretHash) },
          { ...invite('a', 'w1', 30), secretHash: bytes(new Uint8Array(32).fill(5)) },
        )
      }))

    test('peers: seen addresses accumulate, synced time, list', () =>
      withStore(async (s) => {
        assert.equal(s.getPeer('p1'), undefined)
        await s.write(() => s.notePeerSeen('p1', ['/ip4/127.0.0.1/tcp/1'], 100))
        await s.write(() => s.notePeerSeen('p1', ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/1'], 200))
        const p1 = s.getPeer('p1')!
        assert.deepEqual(
          { ...p1, addresses: [...p1.addresses].sort() },
          { peerId: 'p1', lastSeen: 200, lastSyncAt: null, addresses: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'] },
        )
        await s.write(() => s.notePeerSynced('p1', 250))
        assert.deepEqual([s.getPeer('p1')?.lastSeen, s.getPeer('p1')?.lastSyncAt], [200, 250])
        await s.write(() => s.notePeerSynced('p2', 300))
        assert.equal(s.getPeer('p2')?.lastSyncAt, 300)
        assert.deepEqual(s.getPeer('p2')?.addresses, [])
        assert.deepEqual(
          s
            .listPeers()
            .map((p) => p.peerId)
            .sort(),
          ['p1', 'p2'],
        )
      }))

    test("address records: each device's newest is kept, older ones are not", () =>
      withStore(async (s) => {
        assert.deepEqual(s.listAddressRecords(), [])
        assert.equal(await s.write(() => s.putAddressRecord('p1', 2, new Uint8Array([2]))), true)
        assert.equal(await s.write(() => s.putAddressRecord('p1', 1, new Uint8Array([1]))), false)
        assert.equal(await s.write(() => s.putAddressRecord('p1', 2, new Uint8Array([9]))), false)
        assert.equal(await s.write(() => s.putAddressRecord('p2', 7, new Uint8Array([7]))), true)
        assert.equal(await s.write(() => s.putAddressRecord('p1', 3, new Uint8Array([3]))), true)
        const held = s.listAddressRecords().sort((a, b) => a.device.localeCompare(b.device))
        assert.deepEqual(
          held.map((r) => [r.device, r.seq, [...r.record]]),
          [
            ['p1', 3, [3]],
            ['p2', 7, [7]],
          ],
        )
      }))

    test('peer doc heads: set, replace, per document', () =>
      withStore(async (s) => {
        assert.deepEqual(s.listPeerDocHeads('d1'), [])
        await s.write(() => {
          s.setPeerDocHeads('p1', 'd1', [hex(1)], 10)
          s.setPeerDocHeads('p2', 'd1', [], 11)
          s.setPeerDocHeads('p1', 'd2', [hex(5)], 12)
        })
        await s.write(() => s.setPeerDocHeads('p1', 'd1', [hex(2), hex(3)], 20))
        // Written late, of an earlier moment (a batched heads announcement after a catch-up's record): kept out.
        await s.write(() => s.setPeerDocHeads('p1', 'd1', [hex(1)], 15))
        const sorted = s.listPeerDocHeads('d1').sort((a, b) => a.peerId.localeCompare(b.peerId))
        assert.deepEqual(sorted, [
          { peerId: 'p1', heads: [hex(2), hex(3)], updatedAt: 20 },
          { peerId: 'p2', heads: [], updatedAt: 11 },
        ])
        assert.deepEqual(s.listPeerDocHeads('d2'), [{ peerId: 'p1', heads: [hex(5)], updatedAt: 12 }])
        assert.deepEqual(
          s.peerHeadsOf('p1'),
          new Map([
            ['d1', [hex(2), hex(3)]],
            ['d2', [hex(5)]],
          ]),
        )
        assert.deepEqual(s.peerHeadsOf('p2'), new Map([['d1', []]]))
        assert.deepEqual(s.peerHeadsOf('p9'), new Map())
      }))

    test('write(): many writes in one tick all resolve with their results and commit', () =>
      withStore(async (s, reopen) => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            s.write(() => {
              s.setMeta(`k${i}`, String(i))
              return i * 2
            }),
          ),
        )
        assert.deepEqual(
          results,
          Array.from({ length: 200 }, (_, i) => i * 2),
        )
        const again = reopen()
        for (let i = 0; i < 200; i += 37) assert.equal(again.getMeta(`k${i}`)?.toString(), String(i))
      }))

    test('write(): a throwing write rejects only itself; the rest of its batch commits', () =>
      withStore(async (s, reopen) => {
        const boom = new Error('boom')
        const outcomes = await Promise.allSettled([
          s.write(() => s.setMeta('before', '1')),
          s.write(() => {
            s.setMeta('doomed', 'x')
            s.appendChanges('d1', [rec(1)], 1)
            throw boom
          }),
          s.write(() => {
            s.appendChanges('d1', [rec(2)], 2)
            return 'ok'
          }),
        ])
        assert.deepEqual(
          outcomes.map((o) => o.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        )
        assert.equal((outcomes[1] as PromiseRejectedResult).reason, boom)
        assert.equal((outcomes[2] as PromiseFulfilledResult<string>).value, 'ok')
        const check = (st: PeerStore): void => {
          assert.equal(st.getMeta('before')?.toString(), '1')
          assert.equal(st.getMeta('doomed'), undefined, 'the failed write left nothing behind')
          assert.deepEqual(
            st.changesAfter('d1', 0).map((c) => c.hash),
            [hex(2)],
          )
        }
        assert.equal(await s.write(() => 'later'), 'later', 'the store still takes writes after a failed one')
        check(s)
        check(reopen())
      }))

    test('close() commits writes still queued', () =>
      withStore(async (s, reopen) => {
        const pending = s.write(() => s.setMeta('queued', 'yes'))
        const again = reopen()
        await pending
        assert.equal(again.getMeta('queued')?.toString(), 'yes')
      }))

    test('a write after close() rejects instead of hanging', () =>
      withStore(async (s) => {
        s.close()
        await assert.rejects(s.write(() => 1))
      }))

    test('everything survives close and reopen', () =>
      withStore(async (s, reopen) => {
        await s.write(() => {
          s.setMeta('m', 'v')
          s.putWorkspace(ws('w1', 1))
          s.addMembershipOps('w1', [rec(1)], 2)
          s.replaceMembers('w1', [member('a', 1, 'owner')])
          s.upsertDocument(doc('d1', 'w1', 3))
          s.appendChanges('d1', [rec(4), rec(5)], 4)
          s.putSnapshot({ docId: 'd1', bytes: Uint8Array.from([9]), heads: [hex(5)], upToSeq: 2, createdAt: 5 })
          s.putInvite({
            id: 'i1',
            workspaceId: 'w1',
            secretHash: new Uint8Array(32),
            role: 'editor',
            createdAt: 1,
            expiresAt: 9,
            usedAt: null,
            usedBy: null,
            requireApproval: false,
            revokedAt: null,
            declinedAt: 3,
            declinedBy: 'p1',
          })
          s.notePeerSeen('p1', ['/ip4/10.0.0.1/tcp/4001'], 6)
          s.notePeerSynced('p1', 7)
          s.setPeerDocHeads('p1', 'd1', [hex(5)], 8)
        })
        const r = reopen()
        assert.equal(r.getMeta('m')?.toString(), 'v')
        assert.deepEqual(r.getWorkspace('w1'), ws('w1', 1))
        assert.deepEqual(r.listMembershipOps('w1').map(plain), [plain(rec(1))])
        assert.deepEqual(
          r.listMembers('w1').map((m) => m.deviceId),
          ['a'],
        )
        assert.deepEqual(r.getDocument('d1'), doc('d1', 'w1', 3))
        assert.deepEqual(
          r.changesAfter('d1', 0).map((c) => c.hash),
          [hex(4), hex(5)],
        )
        assert.equal(r.getSnapshot('d1')?.upToSeq, 2)
        assert.equal(r.getInvite('i1')?.role, 'editor')
        assert.deepEqual([r.getInvite('i1')?.declinedAt, r.getInvite('i1')?.declinedBy], [3, 'p1'])
        assert.deepEqual(r.getPeer('p1'), { peerId: 'p1', lastSeen: 6, lastSyncAt: 7, addresses: ['/ip4/10.0.0.1/tcp/4001'] })
        assert.deepEqual(r.listPeerDocHeads('d1'), [{ peerId: 'p1', heads: [hex(5)], updatedAt: 8 }])
        const more = await r.write(() => r.appendChanges('d1', [rec(5), rec(6)], 9))
        assert.deepEqual(
          more.map((c) => c.hash),
          [hex(6)],
          'dedupe holds across reopen',
        )
      }))
  })
}
