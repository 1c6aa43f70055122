/**
 * Three real peers on 127.0.0.1 with profiles in temp folders, joined by invites: concurrent edits
 * converge; edit-to-arrival latency is measured; a stopped peer catches up on restart; a late
 * joiner receives every document.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { formWorkspace, median, startPeer, tempDir, waitFor } from './helpers.ts'
import { openReplica } from './replica.ts'
import { seededRandom } from './random.ts'

// Every random choice below comes from here; GRAPEVINE_SEED=<n> replays a run's choices.
const rnd = seededRandom('three-peers')

/** ana, ben and cleo in one workspace with one document; `peers[i]` runs from `dirs[i]` (dirs[3] is for a late joiner). */
interface Team {
  dirs: ReturnType<typeof tempDir>[]
  peers: Peer[]
  ws: string
  docId: string
}

let built: Promise<Team> | undefined
const dirs: ReturnType<typeof tempDir>[] = []

/**
 * The team, built by whichever test needs it first, so that each test can also run alone
 * (--test-name-pattern). A test that stops peers starts them again before it ends.
 */
function team(): Promise<Team> {
  built ??= (async () => {
    dirs.push(tempDir(), tempDir(), tempDir(), tempDir())
    const peers = await Promise.all(['ana', 'ben', 'cleo'].map((name, i) => startPeer(dirs[i]!.path, { name })))
    const t: Team = { dirs, peers, ws: '', docId: '' }
    t.ws = await formWorkspace(peers[0]!, peers.slice(1))
    t.docId = (await peers[0]!.connect().request('doc.create', { workspaceId: t.ws, title: 'Plan', text: 'start\n' })).id
    for (const p of peers) {
      await waitFor('document everywhere', async () => (await p.connect().request('doc.list', { workspaceId: t.ws })).length === 1)
    }
    return t
  })()
  return built
}

after(async () => {
  const t = await built?.catch(() => undefined)
  await Promise.allSettled((t?.peers ?? []).map((p) => p.stop()))
  for (const d of dirs) d.remove()
})

async function sameEverywhere(ps: Peer[], id: string): Promise<{ text: string; heads: string[] }> {
  return waitFor(
    'identical text and heads on every peer',
    async () => {
      const reads = await Promise.all(ps.map((p) => p.connect().request('doc.read', { docId: id })))
      const key = (r: { text: string; heads: string[] }) => `${r.text}\u0000${[...r.heads].sort().join()}`
      return reads.every((r) => key(r) === key(reads[0]!)) ? reads[0]! : null
    },
    30_000,
  )
}

test('concurrent edits on three peers converge to identical text and heads', async () => {
  const { peers, docId } = await team()
  const replicas = await Promise.all(peers.map((p) => openReplica(p.connect(), docId)))
  const perPeer = 40
  // One source per peer, so that each peer's choices do not depend on how the three interleave.
  const sources = replicas.map(() => rnd.fork())
  await Promise.all(
    replicas.map(async (r, i) => {
      const own = sources[i]!
      for (let k = 0; k < perPeer; k++) {
        // Insert between markers (never inside one), at a random boundary of the current text.
        const t = r.text()
        const bounds = [0, t.length, ...[...t.matchAll(/>/g)].map((m) => m.index + 1)]
        await r.edit((d) => A.splice(d, ['text'], own.pick(bounds), 0, `<${i}:${k}>`))
        await new Promise((res) => setTimeout(res, own.between(5, 25)))
      }
    }),
  )
  const final = await sameEverywhere(peers, docId)
  const missing: string[] = []
  for (let i = 0; i < 3; i++) for (let k = 0; k < perPeer; k++) if (!final.text.includes(`<${i}:${k}>`)) missing.push(`<${i}:${k}>`)
  assert.deepEqual(missing, [], 'every edit of every peer is in the converged text')
  await Promise.all(replicas.map((r) => r.until((d) => String(d.text) === final.text)))
  for (const r of replicas) r.close()
})

test('edit → arrival latency on the other peers (printed)', async () => {
  const { peers, docId } = await team()
  // Let the gossipsub mesh settle first: this measures steady state, not start-up.
  await new Promise((r) => setTimeout(r, 1500))
  const replicas = await Promise.all(peers.map((p) => openReplica(p.connect(), docId)))
  const latencies: number[] = []
  for (let k = 0; k < 60; k++) {
    const writer = k % 3
    const mark = `[lat${k}]`
    const t0 = performance.now()
    const arrivals = replicas.filter((_, i) => i !== writer).map((r) => r.until((d) => String(d.text).includes(mark), 10_000))
    await replicas[writer]!.edit((d) => A.splice(d, ['text'], 0, 0, mark))
    for (const t of await Promise.all(arrivals)) latencies.push(t - t0)
    await new Promise((r) => setTimeout(r, 20))
  }
  const worst = Math.max(...latencies)
  console.log(`edit→arrival over ${latencies.length} deliveries: median ${median(latencies).toFixed(1)} ms, worst ${worst.toFixed(1)} ms`)
  assert.equal(latencies.length, 120)
  for (const r of replicas) r.close()
})

test('a stopped peer catches up on restart from its own disk', async () => {
  const { peers, dirs, ws, docId } = await team()
  const cleoDir = dirs[2]!.path
  await peers[2]!.stop()
  const a = peers[0]!.connect()
  const b = peers[1]!.connect()
  await a.request('doc.setText', { docId, text: 'rewritten while cleo was away\n' })
  await b.request('doc.rename', { docId, title: 'Plan v2' })
  const extra = await b.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'made while cleo was away' })
  await sameEverywhere(peers.slice(0, 2), docId)
  const ben = peers[1]!.device.deviceId
  const cleo = peers[2]!.device.deviceId
  // Sync status tells the truth: on ben's copy, not on cleo's.
  const away = await waitFor('ana to know ben has the rewrite', async () => {
    const s = await a.request('doc.syncStatus', { docId })
    return s.upToDate.includes(ben) ? s : null
  })
  assert.equal(away.otherMembers, 2)
  assert.ok(!away.upToDate.includes(cleo))
  peers[2] = await startPeer(cleoDir)
  const c = peers[2].connect()
  await waitFor('cleo sees the new document', async () => (await c.request('doc.list', { workspaceId: ws })).length === 2, 30_000)
  const main = await sameEverywhere(peers, docId)
  assert.equal(main.text, 'rewritten while cleo was away\n')
  assert.equal((await sameEverywhere(peers, extra.id)).text, 'made while cleo was away')
  assert.equal((await c.request('doc.list', { workspaceId: ws })).find((d) => d.id === docId)?.title, 'Plan v2')
  await waitFor('ana to know cleo has caught up', async () => (await a.request('doc.syncStatus', { docId })).upToDate.length === 2)
})

test('a peer that joins late receives every document', async () => {
  const { peers, dirs, ws } = await team()
  const late = await startPeer(dirs[3]!.path, { name: 'dev' })
  peers.push(late)
  const invite = await peers[0]!.connect().request('workspace.invite', { workspaceId: ws, approve: false })
  await late.connect().request('workspace.join', { code: invite.code })
  const l = late.connect()
  const theirs = await peers[0]!.connect().request('doc.list', { workspaceId: ws })
  await waitFor(
    'every document on the late joiner',
    async () => (await l.request('doc.list', { workspaceId: ws })).length === theirs.length,
    30_000,
  )
  for (const d of theirs) await sameEverywhere([peers[0]!, late], d.id)
  const members = await l.request('workspace.members', { workspaceId: ws })
  assert.deepEqual(members.map((m) => m.name).sort(), ['ana', 'ben', 'cleo', 'dev'])
})

test('changes made while every teammate is away are counted as waiting, then delivered', async () => {
  const t = await team()
  const { dirs, docId } = t
  const a = t.peers[0]!.connect()
  // Whoever is in the team by now (ben and cleo, and dev if the late joiner ran): each restarts from its own folder.
  const others = t.peers.slice(1)
  // Start from a document every teammate is known to hold, so that only what follows waits.
  await waitFor(
    'ana to know every teammate holds the document',
    async () => (await a.request('doc.syncStatus', { docId })).upToDate.length === others.length,
  )
  await Promise.all(others.map((p) => p.stop()))
  await a.request('doc.setText', { docId, text: 'written alone\n' })
  await a.request('doc.rename', { docId, title: 'Alone' })
  const s = await a.request('doc.syncStatus', { docId })
  assert.deepEqual(s.upToDate, [])
  assert.equal(s.waitingChanges, 2)
  assert.equal(s.savedLocally, true)
  t.peers.splice(1, others.length, ...(await Promise.all(others.map((_, i) => startPeer(dirs[i + 1]!.path)))))
  await sameEverywhere(t.peers, docId)
  await waitFor('nothing waiting any more', async () => (await a.request('doc.syncStatus', { docId })).waitingChanges === 0)
})
