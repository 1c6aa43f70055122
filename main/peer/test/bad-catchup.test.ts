/**
 * A member's modified client breaking catch-up 2 on purpose: malformed, oversized and endless
 * reconciliation frames, bad have-sets, frames out of turn, another version. Each is refused with a
 * clear reason (to the sender, as a `refuse` frame, and in the victim's log), and nothing changes
 * at the victim, which syncs as before with an honest peer afterwards.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Log } from '../log.ts'
import type { Peer } from '../peer.ts'
import { lpStream } from '@libp2p/utils'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import {
  CATCHUP_PROTOCOL,
  catchupFrame,
  decodeMessage,
  encodeMessage,
  PEER_PROTOCOL_VERSION,
  type CatchupFrame,
} from '../wire/peer-protocol.ts'
import { packId } from '../sync/reconcile.ts'
import { formWorkspace, startPeer, tempDir, testLog, waitFor } from './helpers.ts'
import { dialCatchup, stopAll, type Dir } from './attacker.ts'

describe('catch-up frames that break the protocol', () => {
  const dirs: Dir[] = [tempDir(), tempDir()]
  const lines: string[] = []
  const log: Log = (level, message) => {
    lines.push(`${level} ${message}`)
    testLog(level, message)
  }
  let victim: Peer
  let member: Peer
  let ws = ''
  let docId = ''
  let state = ''

  /** What the victim holds: documents with their heads, and members. */
  const stateOf = async (): Promise<string> => {
    const c = victim.connect()
    const docs = await c.request('doc.list', { workspaceId: ws })
    const heads = await Promise.all(docs.map(async (d) => `${d.id}:${(await c.request('doc.read', { docId: d.id })).heads.join(',')}`))
    const members = (await c.request('workspace.members', { workspaceId: ws })).map((m) => `${m.deviceId}:${m.role}`)
    return JSON.stringify([heads.sort(), members.sort()])
  }

  before(async () => {
    victim = await startPeer(dirs[0]!.path, { name: 'Victim', log, catchupIntervalMs: 600_000 })
    member = await startPeer(dirs[1]!.path, { name: 'Member', catchupIntervalMs: 600_000 })
    ws = await formWorkspace(victim, [member])
    docId = (await victim.connect().request('doc.create', { workspaceId: ws, title: 'Plan', text: 'hello\n' })).id
    for (let i = 0; i < 20; i++) await victim.connect().request('doc.create', { workspaceId: ws, title: `Doc ${i}`, text: `${i}\n` })
    await waitFor(
      'the documents at the member',
      async () => (await member.connect().request('doc.list', { workspaceId: ws })).length === 21,
    )
    await member.syncNow()
    state = await stateOf()
  })

  after(async () => stopAll([victim, member], dirs))

  /**
   * Opens a session from the member's node by hand (up to the victim's first `rc`), lets `attack`
   * write what it will, and returns the victim's refusal and the line it logged.
   */
  async function refused(attack: (s: Awaited<ReturnType<typeof dialCatchup>>) => Promise<void>): Promise<{ reason: string; line: string }> {
    const from = lines.length
    const signal = AbortSignal.timeout(20_000)
    const s = await dialCatchup(member.node, victim.node.peerId, ws, [], signal, false)
    let answer: CatchupFrame | undefined
    try {
      assert.equal(s.first.t, 'rc')
      await attack(s)
      // The attack may have read the refusal itself.
      answer = s.frames.at(-1)
      while (answer?.t !== 'refuse') answer = await s.read()
    } finally {
      s.stream.abort(new Error('done'))
    }
    assert.equal(answer.t, 'refuse')
    assert.equal(answer.code, 'bad-frame')
    const line = await waitFor('the victim to log it', () =>
      lines.slice(from).find((l) => l.includes(`catch-up with ${member.device.deviceId} failed`)),
    )
    console.log(line)
    assert.doesNotMatch(line, /undefined|\[object /)
    return { reason: answer.reason, line }
  }

  const cases: [string, (s: Awaited<ReturnType<typeof dialCatchup>>) => Promise<void>, RegExp][] = [
    [
      'range bounds out of order',
      (s) =>
        s.write({
          t: 'rc',
          r: [
            ['b', 0],
            ['a', 0],
          ],
        }),
      /broke the protocol: range bounds must ascend/,
    ],
    [
      'a fingerprint of 15 bytes',
      (s) => s.write({ t: 'rc', r: [[null, 1, new Uint8Array(15)]] }),
      /catch-up frame: malformed .*exactly 16 bytes/,
    ],
    [
      'a list of 1,025 documents in one range',
      async (s) => {
        const items = Array.from({ length: 1025 }, (_, i): [string | Uint8Array, Uint8Array[]] => [
          packId(i.toString(16).padStart(32, '0')),
          [],
        ])
        await s.write({ t: 'rc', r: [[null, 2, items]] })
      },
      /catch-up frame: malformed/,
    ],
    [
      'a listed id outside its range',
      (s) =>
        s.write({
          t: 'rc',
          r: [
            ['8', 0],
            [null, 2, [['0123', []]]],
          ],
        }),
      /outside its range/,
    ],
    ['a diff sent to the side that answers', (s) => s.write({ t: 'rc', r: [[null, 3, [], []]] }), /only sent to the side that started/],
    [
      'a reconciliation that never ends',
      async (s) => {
        for (let i = 0; i < 30; i++) {
          await s.write({ t: 'rc', r: [[null, 1, randomBytes(16)]] })
          if ((await s.read()).t === 'refuse') break
        }
      },
      /did not end within 24 rounds/,
    ],
    [
      'a reconciliation message in endless parts',
      async (s) => {
        for (let i = 0; i < 300; i++) await s.write({ t: 'rc', m: true, r: [] })
      },
      /more than 256 parts/,
    ],
    [
      'a frame over the size limit',
      async (s) => {
        // Not awaited: the victim stops reading at the length prefix, so the write never drains.
        void s.lp.write(new Uint8Array(5 * 1024 * 1024), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
      },
      /over the 4194304-byte limit/,
    ],
    [
      'a have-set of 7 bytes',
      async (s) => {
        await s.write({ t: 'rc', r: [] })
        await s.write({ t: 'heads', docs: [{ i: packId(docId), h: [], have: { s: randomBytes(8), d: new Uint8Array(7) } }] })
      },
      /catch-up frame: malformed .*multiple of 8 bytes/,
    ],
    [
      'a have-set with a short salt',
      async (s) => {
        await s.write({ t: 'rc', r: [] })
        await s.write({ t: 'heads', docs: [{ i: packId(docId), h: [], have: { s: randomBytes(4), d: new Uint8Array(8) } }] })
      },
      /catch-up frame: malformed .*exactly 8 bytes/,
    ],
    [
      'a summary in the middle of a turn',
      async (s) => {
        await s.write({ t: 'rc', r: [] })
        await s.write({ t: 'hi', v: PEER_PROTOCOL_VERSION, w: packId(ws), d: new Uint8Array(32) })
      },
      /unexpected hi frame/,
    ],
  ]
  for (const [what, attack, pattern] of cases)
    it(`refuses ${what}, says why, and changes nothing`, async () => {
      const { reason, line } = await refused(attack)
      assert.match(reason, pattern)
      assert.match(line, pattern)
      await victim.settle()
      assert.equal(await stateOf(), state)
    })

  it('refuses a summary of another version with a reason that says so', async () => {
    const stream = await member.node.dialProtocol(victim.node.peerId, CATCHUP_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
    await lp.write(encodeMessage({ t: 'hi', v: PEER_PROTOCOL_VERSION + 1, w: packId(ws), d: new Uint8Array(32) }))
    const answer = decodeMessage(catchupFrame, (await lp.read()).subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
    stream.abort(new Error('done'))
    assert.equal(answer.t, 'refuse')
    assert.equal(answer.t === 'refuse' && answer.code, 'version')
    assert.match(
      answer.t === 'refuse' ? answer.reason : '',
      new RegExp(`peer protocol ${PEER_PROTOCOL_VERSION + 1} asked, this peer speaks ${PEER_PROTOCOL_VERSION}`),
    )
    assert.equal(await stateOf(), state)
  })

  it('still syncs with the member afterwards', async () => {
    await member.connect().request('doc.setText', { docId, text: 'hello\nafter the attacks\n' })
    await waitFor('the member’s edit at the victim', async () => {
      await member.syncNow()
      return (await victim.connect().request('doc.read', { docId })).text.includes('after the attacks')
    })
  })
})
