/**
 * The membership lifecycle through the client protocol, between three real peers on 127.0.0.1:
 * removal, role changes and leaving, who may do them, and what the others then refuse. Each test
 * forms its own team, so each can run alone.
 */
import { describeKeyStatus } from '../../../shared/key-status.ts'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import * as A from '@automerge/automerge'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import type { Log } from '../log.ts'
import { signChange } from '../sync/change-validation.ts'
import { formWorkspace, startPeer, tempDir, testLog, waitFor } from './helpers.ts'
import { catchupInject, changeOnTop, rejectsWith, stopAll, type Dir } from './attacker.ts'

interface Team {
  dirs: Dir[]
  peers: [Peer, Peer, Peer]
  clients: [PeerClient, PeerClient, PeerClient]
  /** Ana's log lines. */
  anaLog: string[]
  ws: string
  docId: string
  text: string
  stop(): Promise<void>
}

/** Ana (owner), Ben and Cat (editors) in one workspace with one document everyone holds. */
async function team(): Promise<Team> {
  const dirs = [tempDir(), tempDir(), tempDir()]
  const anaLog: string[] = []
  const log: Log = (level, message) => {
    anaLog.push(`${level} ${message}`)
    testLog(level, message)
  }
  const peers = [
    await startPeer(dirs[0]!.path, { name: 'Ana', log }),
    await startPeer(dirs[1]!.path, { name: 'Ben' }),
    await startPeer(dirs[2]!.path, { name: 'Cat' }),
  ] as [Peer, Peer, Peer]
  const t: Team = {
    dirs,
    peers,
    clients: [peers[0].connect(), peers[1].connect(), peers[2].connect()],
    anaLog,
    ws: '',
    docId: '',
    text: 'the plan\n',
    stop: () => stopAll(t.peers, dirs),
  }
  try {
    t.ws = await formWorkspace(peers[0], [peers[1], peers[2]], 'Studio')
    t.docId = (await t.clients[0].request('doc.create', { workspaceId: t.ws, title: 'Plan', text: t.text })).id
    for (const c of t.clients) {
      await waitFor('the document everywhere', async () => (await c.request('doc.read', { docId: t.docId })).text === t.text)
    }
  } catch (err) {
    await t.stop()
    throw err
  }
  return t
}

const names = async (c: PeerClient, ws: string): Promise<string> =>
  (await c.request('workspace.members', { workspaceId: ws }))
    .map((m) => `${m.name}:${m.role}`)
    .sort()
    .join(' ')

/** Waits until every client in `clients` lists exactly `expected` (name:role, sorted). */
async function membersEverywhere(clients: PeerClient[], ws: string, expected: string): Promise<void> {
  for (const c of clients) await waitFor(`members to be ${expected}`, async () => (await names(c, ws)) === expected, 20_000)
}

/** A change on top of the shared document signed by `peer`'s device key, as catch-up carries it. */
async function forgedChange(t: Team, peer: Peer, text: string) {
  const opened = await t.clients[0].request('doc.open', { docId: t.docId })
  await t.clients[0].request('doc.close', { docId: t.docId })
  return signChange(peer.device, t.ws, t.docId, changeOnTop(opened.bytes, `${peer.device.actorPrefix}0123456789abcdef`, text))
}

/** Whether a peer's database holds the change with this hash (read-only, while it runs). */
function stores(peer: Peer, hash: string): boolean {
  const db = new Database(peer.dbPath, { readonly: true })
  try {
    return db.prepare('SELECT 1 FROM changes WHERE hash = unhex(?)').get(hash) !== undefined
  } finally {
    db.close()
  }
}

describe('membership lifecycle between three peers', () => {
  it('a removed member disappears on all three peers, learns it, and what it signs afterwards is refused', async () => {
    const t = await team()
    try {
      const [ana, ben, cat] = t.peers
      const [a, b, c] = t.clients
      const catId = cat.device.deviceId
      const before = await a.request('workspace.keys', { workspaceId: t.ws })
      const removed = await a.request('member.remove', { workspaceId: t.ws, deviceId: catId })
      assert.deepEqual([removed.workspaceId, removed.deviceId], [t.ws, catId])
      // The removal made a new key, sealed to Ana and Ben only; Cat held the one it replaced.
      assert.ok(removed.keys.epochId !== null && removed.keys.epochId !== before.epochId, 'a new epoch')
      assert.deepEqual(removed.keys.dropped, [{ deviceId: catId, name: 'Cat' }])
      assert.equal(removed.keys.readers, 2)
      assert.match(
        describeKeyStatus(removed.keys, () => '09:12'),
        // Ben shows it holds the new key by finishing a catch-up session with Ana, which may be done already.
        /^(1 of 2 teammates (has|have) the new key; Ben .* may still be using the old one|all 2 teammates have the new key)$/,
      )
      await waitFor(
        'Ben to confirm the new key',
        async () => (await a.request('workspace.keys', { workspaceId: t.ws })).confirmed === 2,
        20_000,
      )
      await membersEverywhere([a, b], t.ws, 'Ana:owner Ben:editor')
      // Gossip no longer reaches Cat; the peer told it directly, so its own list is right too.
      await waitFor('Cat to see it was removed', async () => (await c.request('workspace.list', {})).length === 0, 20_000)
      await rejectsWith(c.request('workspace.members', { workspaceId: t.ws }), ['not-found'], "Cat's members")
      await rejectsWith(c.request('doc.setText', { docId: t.docId, text: 'still here?' }), ['not-found'], "Cat's own peer")
      // A modified client of Cat's still signs a change with Cat's key: Ana and Ben refuse it.
      const forged = await forgedChange(t, cat, 'CAT ')
      for (const victim of [ana, ben]) {
        // Refused either way: by the connection limits for non-members, or by catch-up itself.
        const answer = await cat.node
          .dial(victim.node.getMultiaddrs())
          .then(() => catchupInject(cat.node, victim.node.peerId, t.ws, t.docId, [forged]))
          .catch((err: Error) => err)
        if (answer instanceof Error) console.log(`Cat's catch-up with ${victim.device.deviceId} failed: ${answer.message}`)
        else
          assert.deepEqual(
            answer.map((f) => f.t),
            ['refuse'],
          )
      }
      for (const p of [ana, ben]) await p.settle()
      assert.equal((await a.request('doc.read', { docId: t.docId })).text, t.text)
      assert.equal((await b.request('doc.read', { docId: t.docId })).text, t.text)
    } finally {
      await t.stop()
    }
  })

  it('a member removed while offline: the edits it makes before it learns are refused by the others', async () => {
    const t = await team()
    try {
      const [ana, ben, cat] = t.peers
      const [a, b] = t.clients
      const catId = cat.device.deviceId
      await cat.stop()
      await a.request('member.remove', { workspaceId: t.ws, deviceId: catId })
      await membersEverywhere([a, b], t.ws, 'Ana:owner Ben:editor')
      // Cat comes back not knowing: its own peer still takes its edit, durably, and offers it around.
      const back = await startPeer(t.dirs[2]!.path, { name: 'Cat' })
      t.peers[2] = back
      const c = back.connect()
      assert.equal((await c.request('workspace.list', {}))[0]?.id, t.ws, 'Cat does not know yet')
      await waitFor('Cat to reach Ana', () => back.node.getConnections(ana.node.peerId).length > 0, 20_000)
      await c.request('doc.setText', { docId: t.docId, text: 'Cat was here\n' })
      // Ana refuses Cat (its catch-up, its gossip); the log says so, per source.
      await waitFor(
        "Ana to refuse Cat's traffic",
        () => t.anaLog.some((l) => l.includes(catId) && /refus|reject|not.a.member/i.test(l)),
        20_000,
      )
      // One more catch-up round (3 s in tests) for anything that might still slip through.
      await new Promise((r) => setTimeout(r, 4_000))
      for (const p of [ana, ben]) await p.settle()
      assert.equal((await a.request('doc.read', { docId: t.docId })).text, t.text)
      assert.equal((await b.request('doc.read', { docId: t.docId })).text, t.text)
      assert.equal((await c.request('doc.read', { docId: t.docId })).text, 'Cat was here\n', "the edit exists, at Cat's only")
    } finally {
      await t.stop()
    }
  })

  it('a non-admin cannot remove members or change roles, and nobody can remove or demote the owner', async () => {
    const t = await team()
    try {
      const [ana, ben, cat] = t.peers
      const [a, b, c] = t.clients
      const ws = t.ws
      const [anaId, benId, catId] = [ana.device.deviceId, ben.device.deviceId, cat.device.deviceId]
      await rejectsWith(b.request('member.remove', { workspaceId: ws, deviceId: catId }), ['forbidden'], 'an editor removes')
      await rejectsWith(
        b.request('member.setRole', { workspaceId: ws, deviceId: catId, role: 'viewer' }),
        ['forbidden'],
        'an editor demotes',
      )
      await rejectsWith(b.request('member.setRole', { workspaceId: ws, deviceId: benId, role: 'admin' }), ['forbidden'], 'self-promotion')
      // The owner makes Ben an admin; an admin still cannot touch the owner, nor make admins.
      assert.equal((await a.request('member.setRole', { workspaceId: ws, deviceId: benId, role: 'admin' })).role, 'admin')
      await membersEverywhere([a, b, c], ws, 'Ana:owner Ben:admin Cat:editor')
      await rejectsWith(b.request('member.remove', { workspaceId: ws, deviceId: anaId }), ['conflict'], 'an admin removes the owner')
      await rejectsWith(b.request('member.setRole', { workspaceId: ws, deviceId: anaId, role: 'viewer' }), ['conflict'], 'owner demoted')
      await rejectsWith(
        b.request('member.setRole', { workspaceId: ws, deviceId: catId, role: 'admin' }),
        ['forbidden'],
        'admin makes admin',
      )
      await rejectsWith(a.request('member.remove', { workspaceId: ws, deviceId: anaId }), ['conflict'], 'the owner removes itself')
      await rejectsWith(a.request('workspace.leave', { workspaceId: ws }), ['conflict'], 'the owner leaves')
      await rejectsWith(b.request('member.remove', { workspaceId: ws, deviceId: benId }), ['bad-request'], 'remove self (use leave)')
      await rejectsWith(
        a.request('member.remove', { workspaceId: ws, deviceId: '12D3KooWBmAwcd4PJNJvfV89HwE48nwkRmAgo8Vy3uQEyNNHBox2' }),
        ['not-found'],
        'not a member',
      )
      await rejectsWith(c.request('member.remove', { workspaceId: 'f'.repeat(32), deviceId: benId }), ['not-found'], 'other workspace')
      // Nothing changed anywhere, and the admin can act on a non-owner.
      await membersEverywhere([a, b, c], ws, 'Ana:owner Ben:admin Cat:editor')
      assert.equal((await b.request('member.setRole', { workspaceId: ws, deviceId: catId, role: 'viewer' })).role, 'viewer')
      await membersEverywhere([a, b, c], ws, 'Ana:owner Ben:admin Cat:viewer')
    } finally {
      await t.stop()
    }
  })

  it("editor → viewer: the demoted member's writes are refused, by its own peer and by the others", async () => {
    const t = await team()
    try {
      const [ana, ben, cat] = t.peers
      const [a, b, c] = t.clients
      const benId = ben.device.deviceId
      // Ben writes while an editor; the listing names him as the last to change the document.
      await b.request('doc.setText', { docId: t.docId, text: `${t.text}by Ben\n` })
      await waitFor("Ben's edit at Ana", async () => (await a.request('doc.read', { docId: t.docId })).text.endsWith('by Ben\n'))
      const listed = async () => (await a.request('doc.list', { workspaceId: t.ws })).find((d) => d.id === t.docId)!
      const lastBefore = await listed()
      assert.equal(lastBefore.lastChangeBy, benId)
      const db = new Database(ana.dbPath, { readonly: true })
      const count = (): number =>
        (db.prepare('SELECT count(*) AS n FROM changes WHERE doc = (SELECT id FROM doc_keys WHERE doc = ?)').get(t.docId) as { n: number })
          .n
      const changesBefore = count()
      const changed = await a.request('member.setRole', { workspaceId: t.ws, deviceId: benId, role: 'viewer' })
      assert.deepEqual([changed.deviceId, changed.name, changed.role, changed.self], [benId, 'Ben', 'viewer', false])
      await membersEverywhere([a, b, c], t.ws, 'Ana:owner Ben:viewer Cat:editor')
      // Ana's peer endorses what Ben wrote with an empty change: no edit, so the listing still names Ben.
      await waitFor("Ana's endorsement", () => count() > changesBefore)
      db.close()
      const lastAfter = await listed()
      assert.deepEqual([lastAfter.lastChangeBy, lastAfter.lastChangeAt], [benId, lastBefore.lastChangeAt], 'an endorsement is not an edit')
      await rejectsWith(b.request('doc.setText', { docId: t.docId, text: 'viewer edit' }), ['forbidden'], "Ben's own peer")
      // A change Ben's key signs anyway: Ana and Cat take the catch-up session (Ben is a member) but not the change.
      const forged = await forgedChange(t, ben, 'BEN ')
      const forgedHash = A.decodeChange(forged.c!).hash
      for (const victim of [ana, cat]) {
        await ben.node.dial(victim.node.getMultiaddrs())
        const before = victim.stats().catchup.rejected
        const frames = await catchupInject(ben.node, victim.node.peerId, t.ws, t.docId, [forged])
        assert.equal(frames.at(-1)?.t, 'end')
        // At least this one: the session the dial starts between Ben's and Cat's own peers may run in the
        // same moment and count its own (CI once saw 2; its other change is not this one, which is not stored).
        assert.ok(victim.stats().catchup.rejected - before >= 1, 'the change is rejected')
        await victim.settle()
        assert.ok(!stores(victim, forgedHash), `${victim === ana ? 'Ana' : 'Cat'}: the forged change is not stored`)
      }
      assert.equal((await a.request('doc.read', { docId: t.docId })).text, `${t.text}by Ben\n`)
      assert.equal((await c.request('doc.read', { docId: t.docId })).text, `${t.text}by Ben\n`)
      // Back to editor: writes flow again.
      await a.request('member.setRole', { workspaceId: t.ws, deviceId: benId, role: 'editor' })
      await waitFor('Ben an editor again', async () => (await names(b, t.ws)).includes('Ben:editor'))
      await b.request('doc.setText', { docId: t.docId, text: 'Ben again\n' })
      await waitFor("Ben's edit at Ana", async () => (await a.request('doc.read', { docId: t.docId })).text === 'Ben again\n')
    } finally {
      await t.stop()
    }
  })

  it('a member who leaves is gone on every peer; its workspace is gone from its list, its documents stay in its database', async () => {
    const t = await team()
    try {
      const [, ben, cat] = t.peers
      const [a, b, c] = t.clients
      // Ben and Cat met only through Ana; connected, Ben hands his leave to both himself.
      await ben.node.dial(cat.node.getMultiaddrs())
      const left = await b.request('workspace.leave', { workspaceId: t.ws })
      assert.deepEqual(left, { workspaceId: t.ws, teammates: 2, told: 2 })
      assert.deepEqual(await b.request('workspace.list', {}), [])
      await rejectsWith(b.request('doc.list', { workspaceId: t.ws }), ['not-found'], 'doc.list after leaving')
      await rejectsWith(b.request('doc.read', { docId: t.docId }), ['not-found'], 'doc.read after leaving')
      await membersEverywhere([a, c], t.ws, 'Ana:owner Cat:editor')
      // Kept, not served: the rows are still in Ben's database.
      const db = new Database(ben.dbPath, { readonly: true })
      try {
        const row = db.prepare('SELECT count(*) AS n FROM changes WHERE doc = (SELECT id FROM doc_keys WHERE doc = ?)').get(t.docId) as {
          n: number
        }
        assert.ok(row.n > 0, "the document's changes are still in Ben's database")
      } finally {
        db.close()
      }
      // A new invite brings Ben back, with the document.
      const invite = await a.request('workspace.invite', { workspaceId: t.ws, approve: false })
      assert.equal((await b.request('workspace.join', { code: invite.code })).role, 'editor')
      await waitFor('the document at Ben again', async () => (await b.request('doc.read', { docId: t.docId })).text === t.text)
    } finally {
      await t.stop()
    }
  })

  it('teammates who were offline when a member left learn it when they next connect to it', async () => {
    const t = await team()
    try {
      const [ana, , cat] = t.peers
      const b = t.clients[1]
      await Promise.all([ana.stop(), cat.stop()])
      assert.deepEqual(await b.request('workspace.leave', { workspaceId: t.ws }), { workspaceId: t.ws, teammates: 2, told: 0 })
      // Ana comes back and still counts Ben in; she reaches him, and he hands her his leave.
      const back = await startPeer(t.dirs[0]!.path, { name: 'Ana' })
      t.peers[0] = back
      await waitFor('Ana to learn that Ben left', async () => (await names(back.connect(), t.ws)) === 'Ana:owner Cat:editor', 30_000)
    } finally {
      await t.stop()
    }
  })
})
