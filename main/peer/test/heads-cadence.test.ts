/**
 * How often a peer announces its heads while a teammate types (sync/gossip.ts `headsSpacing`): each
 * announcement goes to every member, so a peer of a team of N announces no more often than the spacing
 * for N allows, however fast the changes it applies come; and once the typing stops, every teammate's
 * receipt still shows it up to date.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Peer } from '../peer.ts'
import { EarlyHeads } from '../sync/early-heads.ts'
import { headsSpacing } from '../sync/gossip.ts'
import { formWorkspace, startPeer, tempDir, waitFor, stopAndRemoveAfter } from './helpers.ts'

const { dirs, running } = stopAndRemoveAfter()

test('a teammate applying a stream of changes announces its heads at most once per spacing, and every receipt settles after', async () => {
  const peers: Peer[] = []
  for (const name of ['ana', 'ben', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal']) {
    const d = tempDir()
    dirs.push(d)
    const p = await startPeer(d.path, { name })
    running.push(p)
    peers.push(p)
  }
  const [a, b] = [peers[0]!, peers[1]!]
  const ws = await formWorkspace(a, peers.slice(1))
  const A = a.connect()
  const docId = (await A.request('doc.create', { workspaceId: ws, title: 'Notes', text: '' })).id
  const settled = async (what: string): Promise<void> => {
    await waitFor(
      what,
      async () => {
        const s = await A.request('doc.syncStatus', { docId })
        return s.receipts.length === 7 && s.receipts.every((r) => r.upToDate)
      },
      30_000,
    )
  }
  await settled('every teammate holding the new document')
  // Nothing of the document left to announce: whatever ben announces next comes from the typing below.
  await new Promise((r) => setTimeout(r, 2 * headsSpacing(8)))

  const before = b.stats().gossip.headsAnnounced
  const started = performance.now()
  let text = ''
  while (performance.now() - started < 3_000) {
    text += 'x'
    await A.request('doc.setText', { docId, text })
    await new Promise((r) => setTimeout(r, 40))
  }
  const typedMs = performance.now() - started
  const announced = b.stats().gossip.headsAnnounced - before
  const spacing = headsSpacing(8)
  const most = Math.ceil(typedMs / spacing) + 1
  console.log(
    `# ben announced its heads ${announced} times in ${Math.round(typedMs)} ms of ana's typing (${text.length} edits; spacing ${spacing} ms, at most ${most})`,
  )
  assert.ok(announced >= 2, `ben kept announcing while changes came (${announced})`)
  assert.ok(announced <= most, `ben announced ${announced} times, more than once per ${spacing} ms allows (${most})`)

  await settled('every teammate up to date once the typing stopped')
})

test('the spacing grows with the team, from 300 ms for two to 2 s', () => {
  assert.equal(headsSpacing(2), 300)
  assert.equal(headsSpacing(4), 450)
  assert.equal(headsSpacing(8), 1_050)
  assert.equal(headsSpacing(16), 2_000)
  // Each peer then receives about (N - 1) / spacing announcements a second from a typing team: no more at 8 than at 4.
  assert.ok(7 / (headsSpacing(8) / 1000) <= 3 / (headsSpacing(4) / 1000) + 0.01)
})

test('heads announced for documents not here yet are kept for when they come, the newest per teammate, at most 256 documents and a minute', () => {
  let now = 1_000_000
  const early = new EarlyHeads(() => now)
  const h = (origin: string, heads: string[]) => ({ ws: 'w', origin, heads, at: now })
  early.keep('d1', h('ana', ['a1']))
  early.keep('d1', h('ana', ['a2']))
  early.keep('d1', h('ben', ['b1']))
  assert.deepEqual(
    early.take('d1')?.map((x) => [x.origin, x.heads[0]]),
    [
      ['ana', 'a2'],
      ['ben', 'b1'],
    ],
  )
  assert.equal(early.take('d1'), undefined, 'taken once')
  // A teammate announcing thousands of unknown documents costs at most EARLY_DOCS entries.
  for (let i = 0; i < 5_000; i++) early.keep(`x${i}`, h('eve', ['e']))
  assert.equal(early.size, EarlyHeads.EARLY_DOCS)
  assert.equal(early.take('x0'), undefined, 'the oldest went first')
  assert.ok(early.take('x4999'))
  // Too old to mean anything: dropped.
  early.keep('late', h('ana', ['l']))
  now += EarlyHeads.EARLY_MS + 1
  assert.equal(early.take('late'), undefined)
})
