/**
 * What a device types with no connection is stored unsigned, in clear, and sealed and signed once, in
 * runs (sync/runs.ts `Runs.hold`), not once per key and again in its run: when the first connection
 * opens, a teammate takes one signed run. A single key is sealed and signed alone. A kill -9 before the
 * sealing, or a sealing the store refuses, leaves keys unsigned in the log, and the profile marked; the
 * next start seals them before its network starts, and a teammate then takes every acknowledged key.
 * A change that could not be sealed is never sent.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import * as A from '@automerge/automerge'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { DB_FILE, type Peer } from '../peer.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import type { Log } from '../log.ts'
import { formWorkspace, killAfterAcks, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { openReplica } from './replica.ts'
import { storedChanges, type StoredChange } from './sim/stored.ts'

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
/** Long enough that nothing is sealed because typing paused: only a connection, a stop or a start seals here. */
const NO_IDLE_SEAL = { runSealIdleMs: 600_000 }

describe('changes typed with no connection are stored unsigned until they are sealed', () => {
  const dirs: Dir[] = []
  let alice: Peer | undefined
  let bob: Peer | undefined
  let docId = ''

  const rows = (p: Peer | string): StoredChange[] => storedChanges(typeof p === 'string' ? p : p.dbPath).filter((c) => c.docId === docId)
  const unsigned = (rs: StoredChange[]): StoredChange[] => rs.filter((c) => c.item.s.byteLength === 0)
  /** The profile's mark that its log may hold unsigned changes (runs.ts `UNSIGNED_MARK`). */
  const mark = (path: string): string | undefined => {
    const db = new Database(path, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare("SELECT value FROM meta WHERE key = 'unsigned_changes'").get() as { value: Buffer } | undefined)?.value.toString()
    } finally {
      db.close()
    }
  }
  const textAt = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text

  /** Bob back: started, dialled to Alice, until his text is hers. */
  async function bobCatchesUp(text: string): Promise<void> {
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    const b = bob
    await b.node.dial(alice!.node.getMultiaddrs())
    await waitFor('Alice’s text at Bob', async () => {
      await b.syncNow()
      return (await textAt(b)) === text
    })
    await bob.stop()
    bob = undefined
  }

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(tempDir())
    alice = await startPeer(dirs[0]!.path, { name: 'Alice', ...NO_IDLE_SEAL })
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    const ws = await formWorkspace(alice, [bob])
    docId = (await alice.connect().request('doc.create', { workspaceId: ws, title: 'Offline', text: '' })).id
    const b = bob
    await waitFor('the document at Bob', async () => (await b.connect().request('doc.list', { workspaceId: ws })).length === 1)
    await bob.stop()
    bob = undefined
    const a = alice
    await waitFor('Alice alone', () => a.node.getConnections().length === 0)
  })

  after(async () => {
    await stopAll([alice, bob], dirs)
  })

  it('keys typed alone are stored unsigned and in clear, then leave as one signed run when a teammate connects', async () => {
    const a = alice!
    const before = rows(a).length
    const runsBefore = a.stats().runs
    const replica = await openReplica(a.connect(), docId)
    for (const ch of 'thirty keys typed with nobody') await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, ch))
    const text = replica.text()
    replica.close()
    const typed = rows(a).slice(before)
    assert.equal(typed.length, 29, 'a row per key, each acknowledged')
    assert.equal(unsigned(typed).length, 29, 'every one unsigned')
    // In clear: each row is the Automerge change the editor made, which decodes as it is.
    for (const r of typed) assert.equal(A.decodeChange(r.item.c).hash, r.hash)
    assert.equal(a.stats().runs.sealed, runsBefore.sealed, 'nothing sealed yet')

    await bobCatchesUp(text)
    const after = rows(a).slice(before)
    assert.equal(after.length, 1, 'one row in their place')
    assert.equal(after[0]!.item.n, 29, 'the run holds every key')
    assert.equal(after[0]!.item.s.byteLength, 64, 'signed')
    assert.deepEqual(a.stats().runs, { ...runsBefore, sealed: runsBefore.sealed + 1, changes: runsBefore.changes + 29 })
    assert.equal(rows(join(dirs[1]!.path, DB_FILE)).at(-1)!.item.n, 29, 'Bob stores the run as it came')
  })

  it('a single key typed alone is sealed and signed alone when the peer stops', async () => {
    const a = alice!
    const before = rows(a).length
    const replica = await openReplica(a.connect(), docId)
    await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, '!'))
    const text = replica.text()
    replica.close()
    const [key] = rows(a).slice(before)
    assert.ok(key && key.item.s.byteLength === 0, 'stored unsigned')
    const path = a.dbPath
    await a.stop()
    alice = undefined
    const [sealed, ...more] = rows(path).slice(before)
    assert.equal(more.length, 0)
    assert.equal(sealed!.hash, key.hash, 'in the place of the key')
    assert.equal(sealed!.item.s.byteLength, 64, 'signed')
    assert.equal(sealed!.item.n ?? 1, 1, 'alone')
    assert.throws(() => A.decodeChange(sealed!.item.c), 'sealed: its bytes are no longer the change in clear')
    alice = await startPeer(dirs[0]!.path, { name: 'Alice', ...NO_IDLE_SEAL })
    await bobCatchesUp(text)
  })

  it('a sealing that fails leaves its mark: the next start seals the keys, though the stop was clean', async () => {
    const a = alice!
    const path = a.dbPath
    const before = rows(a).length
    const replica = await openReplica(a.connect(), docId)
    for (const ch of 'kept') await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, ch))
    const text = replica.text()
    replica.close()
    assert.equal(mark(path), '1', 'marked with the first unsigned key')
    // The run that would take their place is refused by the store (a fake for this one call), so the stop leaves them unsigned.
    const proto = SqliteStore.prototype
    const real = proto.replaceWithRun
    proto.replaceWithRun = () => {
      throw new Error('the disk is full (a test)')
    }
    try {
      await a.stop()
    } finally {
      proto.replaceWithRun = real
    }
    alice = undefined
    assert.equal(unsigned(rows(path).slice(before)).length, 4, 'left unsigned by a clean stop')
    assert.equal(mark(path), '1', 'still marked')

    alice = await startPeer(dirs[0]!.path, { name: 'Alice', ...NO_IDLE_SEAL })
    const again = alice
    await waitFor('nothing unsigned at Alice', () => unsigned(rows(again)).length === 0, 5_000)
    await waitFor('the mark cleared', () => mark(path) === '0', 5_000)
    await bobCatchesUp(text)
  })

  it('a change that could not be sealed is never sent: a teammate who connects gets the rest, and rejects nothing', async () => {
    const a = alice!
    const before = rows(a).length
    const replica = await openReplica(a.connect(), docId)
    const start = replica.text()
    for (const ch of 'not yet') await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, ch))
    replica.close()
    // The store refuses the run that would take their place (a fake for this one call) when Bob connects.
    const proto = SqliteStore.prototype
    const real = proto.replaceWithRun
    proto.replaceWithRun = () => {
      throw new Error('the disk is full (a test)')
    }
    try {
      // Whatever Bob's catch-up with Alice says went wrong (an unsigned change sent is a malformed frame, and ends the session).
      const failures: string[] = []
      const log: Log = (level, message) => {
        if (level === 'warn' && message.includes('catch-up') && !message.includes('not a member')) failures.push(message)
      }
      bob = await startPeer(dirs[1]!.path, { name: 'Bob', log })
      const b = bob
      await b.node.dial(a.node.getMultiaddrs())
      await b.syncNow()
      await a.syncNow()
      assert.equal(unsigned(rows(a).slice(before)).length, 7, 'still unsigned at Alice')
      assert.equal(await textAt(b), start, 'Bob has what Alice could sign, and none of the unsigned keys')
      assert.deepEqual(failures, [], 'no catch-up with Alice failed')
      assert.equal(b.stats().catchup.rejected, 0, 'Bob was sent nothing he had to reject')
      assert.equal(unsigned(rows(b)).length, 0)
      await b.stop()
      bob = undefined
    } finally {
      proto.replaceWithRun = real
    }
  })

  it('kill -9 before the sealing: the next start seals the keys before its network starts, and a teammate takes all of them', async () => {
    const path = alice!.dbPath
    const text = await textAt(alice!)
    await alice!.stop()
    alice = undefined
    const before = rows(path).length
    // The writer types line after line as fast as it can, 8 in flight, and is killed after its 40th acknowledgement.
    const acked = await killAfterAcks(WRITER, [dirs[0]!.path, docId, '0'], 40, 30_000)
    assert.ok(acked.length >= 40, `${acked.length} acknowledged`)
    const left = unsigned(rows(path).slice(before))
    assert.ok(left.length > 0, 'the crash left keys unsigned (else this tests nothing)')

    alice = await startPeer(dirs[0]!.path, { name: 'Alice', ...NO_IDLE_SEAL })
    const a = alice
    await waitFor('nothing unsigned at Alice', () => unsigned(rows(a)).length === 0, 5_000)
    assert.ok(a.stats().runs.sealed + a.stats().runs.alone > 0, 'sealed at the start')
    const now = await textAt(a)
    assert.ok(now.startsWith(text), 'the text from before the crash is there')
    for (const n of acked) assert.ok(now.includes(`line ${n}\n`), `acknowledged line ${n} is there`)
    await bobCatchesUp(now)
  })
})
