/**
 * kill -9 during a burst of acknowledged edits: after every restart each acknowledged edit is there,
 * in order, and the database opens cleanly. The writer is a separate OS process.
 * GRAPEVINE_CRASH_CYCLES sets the number of cycles (default 20; at least 1, or the test fails).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { killAfterAcks, startPeer, tempDir } from './helpers.ts'
import { seededRandom } from './random.ts'

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
const CYCLES_SETTING = process.env['GRAPEVINE_CRASH_CYCLES'] || '20'
/** How long one burst may take to reach its number of acknowledgements (a peer's start included). */
const BURST_LIMIT_MS = 30_000

/** The number of cycles; zero or a typo would make the test pass having crashed nothing, so it fails instead. */
function cycles(): number {
  const n = Number(CYCLES_SETTING)
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `GRAPEVINE_CRASH_CYCLES must be a whole number of at least 1 (got '${CYCLES_SETTING}'): with no cycle nothing is tested`,
    )
  }
  return n
}

/** Runs the writer until it has acknowledged `acks` lines (or BURST_LIMIT_MS pass), then SIGKILLs it. */
const burstThenKill = (profile: string, docId: string, first: number, acks: number): Promise<number[]> =>
  killAfterAcks(WRITER, [profile, docId, String(first)], acks, BURST_LIMIT_MS)

test(`kill -9 during bursts of acknowledged edits loses none of them (${CYCLES_SETTING} cycles)`, async () => {
  const CYCLES = cycles()
  const rnd = seededRandom('crash')
  const dir = tempDir()
  try {
    const setup = await startPeer(dir.path)
    const c = setup.connect()
    const ws = await c.request('workspace.create', { name: 'Crash' })
    const docId = (await c.request('doc.create', { workspaceId: ws.id, title: 'Log', text: '' })).id
    await setup.stop()

    let next = 0
    let totalAcked = 0
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Killed right after the writer's `target`-th acknowledgement, with more edits in flight.
      const target = rnd.between(5, 124)
      const acked = await burstThenKill(dir.path, docId, next, target)
      // Each cycle must crash a burst that was acknowledging edits, or it tests nothing.
      assert.ok(
        acked.length >= target,
        `cycle ${cycle}: the writer acknowledged ${acked.length} of ${target} edits in ${BURST_LIMIT_MS / 1000} s before it was killed`,
      )
      totalAcked += acked.length
      const peer = await startPeer(dir.path) // takes over the stale lock; the store checks integrity on open
      try {
        const { text } = await peer.connect().request('doc.read', { docId })
        const lines = text.split('\n').filter((l) => l !== '')
        // The text is exactly line 0, line 1, … : nothing lost in the middle, nothing garbled.
        for (const [i, l] of lines.entries()) assert.equal(l, `line ${i}`, `cycle ${cycle}: line ${i}`)
        const have = lines.length
        for (const n of acked) assert.ok(n < have, `cycle ${cycle}: acknowledged line ${n} is missing (text has ${have} lines)`)
        next = have
      } finally {
        await peer.stop()
      }
    }
    console.log(`${CYCLES} kill -9 cycles, ${totalAcked} acknowledged edits, all present; ${next} lines in the end`)
    assert.ok(totalAcked >= CYCLES * 5)
  } finally {
    dir.remove()
  }
})
