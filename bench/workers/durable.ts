/**
 * W6 worker: one system per process, edits one at a time (or a few in flight), each timed from the
 * edit until the system says it is saved.
 * Each edit types 'x' at the end of the text, at a position the client counts itself, as an editor knows
 * where its cursor is (reading `d.text.length` in the change would build the whole text each time).
 *  - grapevine: a peer and an in-process client; an Automerge change per keystroke sent with
 *    `doc.applyChanges`, which resolves once the change is committed (WAL, synchronous=FULL, group commit).
 *  - sqlite-full / sqlite-normal: raw better-sqlite3, WAL, one 120-byte row per transaction.
 *  - sqlite-full-log: raw better-sqlite3, WAL, synchronous=FULL, one row per transaction in Grapevine's change
 *    log as the store's migrations make it (a random 32-byte hash unique per document, and its other indexes);
 *    the row as W6's peer stores a keystroke (no signature: unsigned).
 *  - am-nodefs: automerge-repo with NodeFS storage, `handle.change` then `await repo.flush()`.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { createPeer, type Peer } from '../../main/peer/peer.ts'
import { SqliteStore } from '../../main/peer/store/sqlite-store.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import { serve, sleep } from '../lib/serve.ts'
import { now } from '../lib/stats.ts'

interface DocContent {
  title: string
  text: string
}
type Op = () => Promise<void>

let dir = ''
let op: Op | null = null
let count: () => Promise<number> = async () => 0
let close: () => Promise<void> = async () => {}
/** Grapevine: per edit, what the client spent making its Automerge change, before the request (part of each latency). */
const ownMs: number[] = []

async function startGrapevine(): Promise<void> {
  const peer: Peer = await createPeer({ profileDir: join(dir, 'gv'), name: 'w6', host: '127.0.0.1', port: 0, mdns: false })
  const client: PeerClient & { close(): void } = peer.connect()
  const ws = await client.request('workspace.create', { name: 'W6' })
  const docId = (await client.request('doc.create', { workspaceId: ws.id, title: 'W6', text: '' })).id
  const opened = await client.request('doc.open', { docId })
  const doc = A.load<DocContent>(opened.bytes, { actor: opened.actor, unchecked: true })
  // A keystroke as the editor's worker makes one (renderer/src/editor/replica.ts `spliceText`): on
  // Automerge's backend, without updating the document's JavaScript view.
  const backend = A.getBackend(doc)
  const text = A.getObjectId(doc, 'text')!
  let length = 0
  op = async () => {
    const t0 = now()
    backend.splice(text, length++, 0, 'x')
    backend.commit(undefined, Math.floor(Date.now() / 1000))
    const change = backend.getLastLocalChange()!
    ownMs.push(now() - t0)
    await client.request('doc.applyChanges', { docId, changes: [change] })
  }
  count = async () => (await client.request('doc.read', { docId })).text.length
  close = async () => {
    client.close()
    await peer.stop()
  }
}

function startSqlite(sync: 'FULL' | 'NORMAL'): void {
  const db = new Database(join(dir, 'raw.db'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${sync}`)
  db.exec('CREATE TABLE changes (seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, hash TEXT NOT NULL, bytes BLOB NOT NULL)')
  const insert = db.prepare('INSERT INTO changes (doc_id, hash, bytes) VALUES (?, ?, ?)')
  const payload = Buffer.alloc(120, 7)
  let n = 0
  op = async () => {
    insert.run('doc', String(n++), payload)
  }
  count = async () => (db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n
  close = async () => {
    db.close()
  }
}

/**
 * One keystroke's row in Grapevine's change log, with its indexes: a profile made by the store (its migrations,
 * so the floor follows the schema), then written by a raw connection, one insert per transaction with FULL.
 */
function startSqliteLog(): void {
  const path = join(dir, 'log.db')
  new SqliteStore(path).close()
  const db = new Database(path)
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.exec(`INSERT INTO doc_keys (id, doc) VALUES (1, 'w6');
    INSERT INTO authors (id, device) VALUES (1, 'w6-device');
    INSERT INTO epochs (id, epoch) VALUES (1, x'${'ee'.repeat(16)}');
    INSERT INTO mstates (id, heads) VALUES (1, x'${'aa'.repeat(32)}');`)
  const insert = db.prepare(
    'INSERT INTO changes (doc, hash, author, signature, bytes, arrived_at, m, epoch, deps) VALUES (1, ?, 1, ?, ?, ?, 1, 1, ?)',
  )
  // A one-keystroke Automerge change is about 120 bytes; each row's deps is the hash of the change before.
  const bytes = Buffer.alloc(120, 7)
  const none = Buffer.alloc(0)
  let deps = randomBytes(32)
  op = async () => {
    const hash = randomBytes(32)
    insert.run(hash, none, bytes, Date.now(), deps)
    deps = hash
  }
  count = async () => (db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n
  close = async () => {
    db.close()
  }
}

function startAutomergeRepo(): void {
  const repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(join(dir, 'am')) })
  const handle: DocHandle<DocContent> = repo.create<DocContent>({ title: 'W6', text: '' })
  let length = 0
  op = async () => {
    handle.change((d) => {
      A.splice(d, ['text'], length++, 0, 'x')
    })
    await repo.flush()
  }
  count = async () => handle.doc()!.text.length
  close = async () => repo.shutdown()
}

serve(
  {
    async start({ system, storageDir, warmUp }: { system: string; storageDir: string; warmUp: number }) {
      dir = storageDir
      if (system === 'grapevine') await startGrapevine()
      else if (system === 'sqlite-full') startSqlite('FULL')
      else if (system === 'sqlite-normal') startSqlite('NORMAL')
      else if (system === 'sqlite-full-log') startSqliteLog()
      else if (system === 'am-nodefs') startAutomergeRepo()
      else throw new Error(`unknown system ${system}`)
      for (let i = 0; i < warmUp; i++) await op!()
      return null
    },
    /** `count` edits, `intervalMs` apart (0: each as soon as the previous is saved), `inFlight` at once; stops at `maxMs`. */
    async run({ count: n, intervalMs, inFlight, maxMs }: { count: number; intervalMs: number; inFlight: number; maxMs: number }) {
      const lat: number[] = []
      ownMs.length = 0
      const start = now()
      const running = new Set<Promise<void>>()
      for (let i = 0; i < n && now() - start < maxMs; i++) {
        if (intervalMs > 0) await sleep(Math.max(0, start + i * intervalMs - now()))
        const t0 = now()
        const p: Promise<void> = op!()
          .then(() => {
            lat.push(now() - t0)
          })
          .finally(() => running.delete(p))
        running.add(p)
        if (running.size >= inFlight) await Promise.race(running)
      }
      await Promise.all(running)
      return { lat, seconds: (now() - start) / 1000, own: [...ownMs] }
    },
    count: () => count(),
  },
  async () => {
    await close().catch(() => {})
    if (dir) rmSync(dir, { recursive: true, force: true })
  },
)
