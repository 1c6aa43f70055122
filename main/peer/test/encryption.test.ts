/**
 * End-to-end encryption between real peers on 127.0.0.1 with real SQLite files: what crosses the
 * wire and what is stored is sealed; a removed member holding its old keys reads nothing written
 * after its removal; a keeper carries a whole session between two members who are never online
 * together and never holds a byte of plaintext or a key. Each test forms its own team.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import type { Peer } from '../peer.ts'
import type { Log } from '../log.ts'
import { openContent } from '../crypto/seal.ts'
import { CryptoError } from '../crypto/errors.ts'
import { LIVE_PROTOCOL, workspaceTopic } from '../wire/peer-protocol.ts'
import { formWorkspace, startPeer, tempDir, testLog, waitFor } from './helpers.ts'
import { catchupInject, rejectsWith, stopAll } from './attacker.ts'

/** Every byte of a profile's database as it lies on disk: the file, its WAL and shm. */
function diskBytes(dbPath: string): Buffer {
  return Buffer.concat([dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((p) => existsSync(p)).map((p) => readFileSync(p)))
}

/** Whether `marker` (or its first 12 characters, as a change may split a typed word) occurs in `bytes`. */
const holds = (bytes: Uint8Array, marker: string): boolean => Buffer.from(bytes).includes(marker.slice(0, 12))

/** How many changes by `author` a peer's database holds (read from the file, as another process would). */
function storedBy(peer: Peer, author: string): number {
  const db = new Database(peer.dbPath, { readonly: true })
  try {
    return (
      db.prepare('SELECT count(*) AS n FROM changes WHERE author = (SELECT id FROM authors WHERE device = ?)').get(author) as { n: number }
    ).n
  } finally {
    db.close()
  }
}

const capture =
  (lines: string[]): Log =>
  (level, message) => {
    lines.push(`${level} ${message}`)
    testLog(level, message)
  }

describe('end-to-end encryption', () => {
  it('gossip, catch-up and the change log carry only sealed content; presence is sealed too', async () => {
    const dirs = [tempDir(), tempDir(), tempDir()]
    const peers: Peer[] = []
    try {
      for (const [i, name] of ['Ana', 'Ben', 'Cid'].entries()) peers.push(await startPeer(dirs[i]!.path, { name }))
      const [ana, ben, cid] = peers as [Peer, Peer, Peer]
      // Cid's peer does not speak the live protocol (an older version): what Ana and Ben send goes on the
      // workspace's topic as well as by the live path, as the same bytes (sync/gossip.ts `send`; with every
      // member reached live, or the others away, nothing goes on the topic).
      await cid.node.unhandle(LIVE_PROTOCOL)
      const ws = await formWorkspace(ana, [ben, cid], 'Sealed')
      // Everything gossiped to Ben on the workspace's topic, as it arrives, before it is decoded.
      const heard: Uint8Array[] = []
      ben.node.services.pubsub.addEventListener('message', (e) => {
        if (e.detail.topic === workspaceTopic(ws)) heard.push(e.detail.data)
      })
      const marker = `SECRET-${randomBytes(6).toString('hex')}`
      const a = ana.connect()
      const doc = await a.request('doc.create', { workspaceId: ws, title: `Title ${marker}`, text: `text ${marker}` })
      await a.request('presence.set', { workspaceId: ws, docId: doc.id, cursor: null })
      const b = ben.connect()
      // A new name travels in a membership op: sealed too, and readable by the teammate.
      const newName = `Bea-${randomBytes(4).toString('hex')}`
      await b.request('identity.setName', { name: newName })
      await waitFor('the new name at Ana', async () =>
        (await a.request('workspace.members', { workspaceId: ws })).some((m) => m.name === newName),
      )
      await waitFor('the text at Ben', async () => (await b.request('doc.read', { docId: doc.id })).text.includes(marker))
      await waitFor("Ana's presence at Ben", async () =>
        (await b.request('presence.list', { workspaceId: ws })).some((p) => p.docId === doc.id),
      )
      assert.ok(heard.length >= 2, `Ben heard ${heard.length} messages`)
      for (const m of heard) assert.ok(!holds(m, marker), 'no gossiped message holds the text or title in clear')
      for (const m of heard) assert.ok(!Buffer.from(m).includes(newName), 'no gossiped message holds a name in clear')
      // Catch-up serves the change log as stored: every row is sealed, on both sides.
      for (const p of [ana, ben]) {
        const db = new Database(p.dbPath, { readonly: true })
        try {
          const rows = db.prepare('SELECT bytes, epoch FROM changes').all() as { bytes: Uint8Array; epoch: number | null }[]
          assert.ok(rows.length > 0)
          for (const r of rows) {
            assert.ok(r.epoch !== null, 'every change is sealed')
            assert.ok(!holds(r.bytes, marker), 'no stored change holds the text in clear')
          }
        } finally {
          db.close()
        }
      }
      // A catch-up session as a member's modified client sees it: Ben's identity asks Ana for everything.
      const frames = await catchupInject(ben.node, ana.node.peerId, ws, doc.id, [], [], 'none')
      const served = frames.flatMap((f) => (f.t === 'changes' ? f.items : []))
      assert.ok(served.length > 0, 'catch-up served the changes')
      for (const item of served) {
        assert.ok(item.e !== undefined, 'served sealed')
        assert.ok(!holds(item.c, marker))
      }
    } finally {
      await stopAll(peers, dirs)
    }
  })

  it('a removed member with its old keys, its store and a modified client reads 0 bytes written after its removal', async () => {
    const dirs = [tempDir(), tempDir(), tempDir()]
    const peers: Peer[] = []
    try {
      for (const [i, name] of ['Ana', 'Ben', 'Cat'].entries()) peers.push(await startPeer(dirs[i]!.path, { name }))
      const [ana, ben, cat] = peers as [Peer, Peer, Peer]
      const ws = await formWorkspace(ana, [ben, cat], 'Studio')
      const a = ana.connect()
      const doc = await a.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'before\n' })
      await waitFor('the document at Cat', async () => (await cat.connect().request('doc.read', { docId: doc.id })).text === 'before\n')
      const oldEpoch = (await a.request('workspace.keys', { workspaceId: ws })).epochId!
      assert.ok(cat.keys.key(ws, oldEpoch), 'Cat holds the key of the epoch before its removal')
      // Cat's modified client keeps listening on the topic after its removal.
      const heard: Uint8Array[] = []
      cat.node.services.pubsub.addEventListener('message', (e) => {
        if (e.detail.topic === workspaceTopic(ws)) heard.push(e.detail.data)
      })
      const removed = await a.request('member.remove', { workspaceId: ws, deviceId: cat.device.deviceId })
      const newEpoch = removed.keys.epochId!
      assert.notEqual(newEpoch, oldEpoch)
      const marker = `AFTER-${randomBytes(6).toString('hex')}`
      await a.request('doc.setText', { docId: doc.id, text: `before\n${marker}\n` })
      await a.request('doc.rename', { docId: doc.id, title: `Plan ${marker}` })
      await a.request('presence.set', { workspaceId: ws, docId: doc.id, cursor: null })
      const b = ben.connect()
      await waitFor('the new text at Ben', async () => (await b.request('doc.read', { docId: doc.id })).text.includes(marker))
      // Cat's catch-up is refused; whatever reached it by gossip holds no byte of the new text.
      const asked = await catchupInject(cat.node, ana.node.peerId, ws, doc.id, []).catch((err: Error) => err)
      if (!(asked instanceof Error))
        assert.deepEqual(
          asked.map((f) => f.t),
          ['refuse'],
        )
      for (const m of heard) assert.ok(!holds(m, marker), 'nothing Cat heard holds the new text in clear')
      await cat.settle()
      assert.ok(!holds(diskBytes(cat.dbPath), marker), "Cat's database holds no byte of the new text")
      // Even handed every sealed change written after the removal (a careless teammate, a leak),
      // Cat's keys open none: the new epoch's key was never sealed to it.
      assert.equal(cat.keys.key(ws, newEpoch), null, 'Cat has no key of the new epoch')
      const db = new Database(ana.dbPath, { readonly: true })
      const after = db
        .prepare(
          `SELECT k.doc AS doc_id, a.device AS author, c.bytes, lower(hex(e.epoch)) AS epoch FROM changes c
          JOIN authors a ON a.id = c.author JOIN doc_keys k ON k.id = c.doc JOIN epochs e ON e.id = c.epoch
          WHERE e.epoch = unhex(?)`,
        )
        .all(newEpoch) as {
        doc_id: string
        author: string
        bytes: Uint8Array
        epoch: string
      }[]
      db.close()
      assert.ok(after.length >= 2, `${after.length} changes sealed under the new epoch`)
      const oldKey = cat.keys.key(ws, oldEpoch)!
      let opened = 0
      for (const r of after) {
        try {
          openContent(oldKey, r.bytes, { kind: 'change', subject: r.doc_id, author: r.author })
          opened++
        } catch (err) {
          assert.ok(err instanceof CryptoError && err.kind === 'auth-failed')
        }
      }
      assert.equal(opened, 0, 'none opens under the old key')
      // Its own peer no longer lets it write or read the workspace.
      await rejectsWith(cat.connect().request('doc.read', { docId: doc.id }), ['not-found'], "Cat's own peer")
    } finally {
      await stopAll(peers, dirs)
    }
  })

  it('a keeper carries a session between two members who are never online together, and holds no plaintext, no name and no key', async () => {
    const dirs = [tempDir(), tempDir(), tempDir()]
    const keeperLog: string[] = []
    let ana: Peer | undefined
    let ben: Peer | undefined
    let kim: Peer | undefined
    const stopped: (Peer | undefined)[] = []
    try {
      // Names that cannot occur by chance, to look for in the keeper's bytes.
      const tag = randomBytes(4).toString('hex')
      const [anaName, benName, wsName] = [`Ana-${tag}`, `Ben-${tag}`, `Relay-${tag}`]
      ana = await startPeer(dirs[0]!.path, { name: anaName })
      kim = await startPeer(dirs[1]!.path, { name: 'Kim', log: capture(keeperLog) })
      ben = await startPeer(dirs[2]!.path, { name: benName })
      const a = ana.connect()
      const ws = (await a.request('workspace.create', { name: wsName })).id
      const keeperInvite = await a.request('workspace.invite', { workspaceId: ws, role: 'keeper', approve: false })
      await kim.connect().request('workspace.join', { code: keeperInvite.code })
      const benInvite = await a.request('workspace.invite', { workspaceId: ws, role: 'editor', approve: false })
      await ben.connect().request('workspace.join', { code: benInvite.code, name: benName })
      const members = await a.request('workspace.members', { workspaceId: ws })
      assert.deepEqual(members.find((m) => m.name === 'Kim')?.role, 'keeper')
      assert.deepEqual(members.find((m) => m.name === 'Kim')?.key, 'never')
      // The keeper verifies who is who, but reads no name: the ops name people sealed.
      const k0 = kim
      await waitFor('Ben at the keeper', async () => (await k0.connect().request('workspace.members', { workspaceId: ws })).length === 3)
      const seenByKeeper = await kim.connect().request('workspace.members', { workspaceId: ws })
      assert.ok(!seenByKeeper.some((m) => m.name.includes(tag)), `the keeper sees no name: ${seenByKeeper.map((m) => m.name).join(', ')}`)
      assert.ok(!(await kim.connect().request('workspace.list', {}))[0]!.name.includes(tag), 'the keeper sees no workspace name')
      const seenByBen = await ben.connect().request('workspace.members', { workspaceId: ws })
      assert.deepEqual(seenByBen.map((m) => m.name).sort(), [anaName, benName, 'Kim'].sort(), 'readers see every name')
      // Ben goes away before anything is written.
      const benDir = dirs[2]!.path
      await ben.stop()
      ben = undefined
      const first = `FIRST-${randomBytes(6).toString('hex')}`
      const doc = await a.request('doc.create', { workspaceId: ws, title: 'Notes', text: `${first}\n` })
      const k = kim
      await waitFor('the change at the keeper', () => storedBy(k, ana!.device.deviceId) >= 1)
      await k.settle()
      await ana.stop()
      stopped.push(ana)
      ana = undefined
      // Ben comes back while Ana is away; only the keeper is there.
      ben = await startPeer(benDir, { name: 'Ben' })
      await ben.node.dial(k.node.getMultiaddrs())
      const b = ben.connect()
      const bb = ben
      await waitFor('Ana’s text at Ben, through the keeper', async () => {
        await bb.syncNow()
        return (await b.request('doc.read', { docId: doc.id })).text.includes(first)
      })
      const second = `SECOND-${randomBytes(6).toString('hex')}`
      await b.request('doc.setText', { docId: doc.id, text: `${first}\n${second}\n` })
      await waitFor('Ben’s change at the keeper', () => storedBy(k, bb.device.deviceId) >= 1)
      await k.settle()
      await ben.stop()
      ben = undefined
      // Ana comes back; again only the keeper is there.
      ana = await startPeer(dirs[0]!.path, { name: 'Ana' })
      await ana.node.dial(k.node.getMultiaddrs())
      const a2 = ana.connect()
      const aa = ana
      await waitFor('Ben’s text at Ana, through the keeper', async () => {
        await aa.syncNow()
        return (await a2.request('doc.read', { docId: doc.id })).text.includes(second)
      })
      // The keeper: no key, cannot open the document, and no byte of either text on disk or in its log.
      assert.equal(k.keys.current(ws), null, 'the keeper holds no content key')
      await rejectsWith(k.connect().request('doc.read', { docId: doc.id }), ['forbidden'], 'the keeper reads')
      await rejectsWith(k.connect().request('doc.history', { docId: doc.id }), ['forbidden'], 'the keeper reads a timeline')
      await k.settle()
      const kdb = new Database(k.dbPath, { readonly: true })
      try {
        const counted = ['search_docs', 'history_sessions', 'history_progress'].map(
          (t) => (kdb.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n,
        )
        assert.deepEqual(counted, [0, 0, 0], 'the keeper indexes and counts nothing of what it stores')
      } finally {
        kdb.close()
      }
      const disk = diskBytes(k.dbPath)
      for (const marker of [first, second, anaName, benName, wsName]) {
        assert.ok(!holds(disk, marker), `the keeper's database holds no byte of ${marker}`)
        assert.ok(!keeperLog.some((l) => l.includes(marker.slice(0, 12))), `the keeper's log holds no ${marker}`)
      }
    } finally {
      await stopAll([ana, ben, kim], dirs)
    }
  })
})
