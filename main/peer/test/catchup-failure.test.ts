/**
 * A catch-up session that ends because the other side died says why, on both ends of the protocol:
 * the teammate is a separate OS process killed with SIGKILL while the victim's writes wait for it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { lpStream } from '@libp2p/utils'
import { fileURLToPath } from 'node:url'
import type { Peer } from '../peer.ts'
import type { Log } from '../log.ts'
import { CATCHUP_PROTOCOL } from '../wire/peer-protocol.ts'
import { describeFailure } from '../net/failure.ts'
import { formWorkspace, startPeer, tempDir, testLog, waitFor } from './helpers.ts'
import { seededRandom } from './random.ts'
import { openReplica } from './replica.ts'
import { stopAll, type Dir } from './attacker.ts'

const CHILD = fileURLToPath(new URL('./catchup-victim-child.ts', import.meta.url))

describe('describeFailure', () => {
  it('names a cause for whatever a failed stream operation rejects with', () => {
    const cases: [unknown, RegExp][] = [
      [Object.assign(new Event('close'), { error: undefined }), /closed while data was waiting to be sent/],
      [
        Object.assign(new Event('close'), { error: Object.assign(new Error('The stream has been reset'), { name: 'StreamResetError' }) }),
        /reset by the other side/,
      ],
      [Object.assign(new Error(''), { name: 'UnexpectedEOFError' }), /closed the stream \(UnexpectedEOFError\)/],
      [Object.assign(new Error('catch-up frame: not CBOR'), { name: 'WireError' }), /undecodable .*not CBOR/],
      [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), /timed out/],
      ['went away', /^went away$/],
      [undefined, /empty rejection/],
      [null, /empty rejection/],
      [{ code: 42 }, /non-error rejection: \{"code":42\}/],
      [42n, /non-error rejection: 42/],
      [
        new AggregateError([new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED')], 'All dials failed'),
        /^All dials failed: connect ECONNREFUSED$/,
      ],
    ]
    for (const [err, expected] of cases) {
      const text = describeFailure(err)
      assert.match(text, expected)
      assert.doesNotMatch(text, /^undefined$|\[object /)
    }
  })
})

describe('a catch-up cut short by a dead teammate', () => {
  const dirs: Dir[] = []
  const lines: string[] = []
  let victim: Peer | undefined
  let memberId = ''
  let ws = ''

  before(async () => {
    const rnd = seededRandom('catchup-failure')
    dirs.push(tempDir(), tempDir())
    const log: Log = (level, message) => {
      lines.push(`${level} ${message}`)
      testLog(level, message)
    }
    victim = await startPeer(dirs[0]!.path, { name: 'Victim', log, catchupIntervalMs: 600_000 })
    const member = await startPeer(dirs[1]!.path, { name: 'Member', catchupIntervalMs: 600_000 })
    memberId = member.device.deviceId
    ws = await formWorkspace(victim, [member])
    // 7.2 MB of changes that do not compress, well over what yamux and the stream's buffers take in while the
    // other side does not read (1 to 3.6 MB here, depending on how far yamux grew the window): the victim's writes
    // must wait. Bytes, not text: text this long costs Automerge seconds to build.
    const docId = (await victim.connect().request('doc.create', { workspaceId: ws, title: 'Big', text: '' })).id
    const replica = await openReplica(victim.connect(), docId)
    for (let i = 0; i < 30; i++) {
      const blob = Uint8Array.from({ length: 240_000 }, () => rnd.int(256))
      await replica.edit((d) => {
        ;(d as unknown as Record<string, Uint8Array>)[`blob${i}`] = blob
      })
    }
    replica.close()
    const headsOf = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).heads.join()
    await waitFor('the member to hold the document', async () => (await headsOf(member)) === (await headsOf(victim!)))
    await member.stop()
    // A session cut by this stop may log its failure later; let it, so that what the tests see is theirs.
    await waitFor('the victim to see the member gone', () => victim!.node.getConnections(member.node.peerId).length === 0)
    await new Promise((r) => setTimeout(r, 500))
  })

  after(async () => stopAll([victim], dirs))

  /** Runs the child in `role`, waits until the victim's writes are stuck on it, SIGKILLs it; returns the log lines since. */
  async function killMidSession(role: 'dialer' | 'responder', pattern: RegExp): Promise<string[]> {
    const v = victim!
    const from = lines.length
    const child = spawn(process.execPath, [CHILD, dirs[1]!.path, v.node.getMultiaddrs()[0]!.toString(), ws, role], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    try {
      if (role === 'responder') {
        await waitFor('the child to connect', () => out.includes('READY'), 20_000)
        // The victim dials the child; ask again until the child's handler got the session (a connect-time one may be first).
        await waitFor(
          'the child to stall a session the victim dialled',
          () => {
            if (!out.includes('WAITING')) void v.syncNow()
            return out.includes('WAITING')
          },
          20_000,
          1_000,
        )
      } else {
        await waitFor('the child to stall its session', () => out.includes('WAITING'), 20_000)
      }
      // The victim is stuck once it stops sending frames.
      let last = -1
      await waitFor(
        'the victim to stop sending',
        () => {
          const sent = v.stats().catchup.framesSent
          const stuck = sent === last
          last = sent
          return stuck
        },
        20_000,
        500,
      )
      assert.deepEqual(
        lines.slice(from).filter((l) => pattern.test(l)),
        [],
        'nothing failed before the kill',
      )
      child.kill('SIGKILL')
      await exited
      return await waitFor(
        'the victim to log the failure',
        () => {
          const failed = lines.slice(from).filter((l) => pattern.test(l))
          return failed.length > 0 ? failed : null
        },
        20_000,
      )
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  }

  function assertNamesCause(failed: string[]): void {
    for (const line of failed) {
      console.log(line)
      assert.doesNotMatch(line, /undefined|null|\[object /, `the log line names no cause: ${line}`)
      // A dead teammate shows as a closed or reset stream or connection, whichever the victim saw first.
      assert.match(line, /failed while [a-z ]+: .*(closed|reset|went away)/, `the log line names no step and cause: ${line}`)
    }
  }

  it('the responder logs why when the dialer dies while it sends', async () => {
    const failed = await killMidSession('dialer', new RegExp(`catch-up with ${memberId} failed`))
    assertNamesCause(failed)
  })

  it('the dialer logs why when the responder dies while it sends', async () => {
    const failed = await killMidSession('responder', new RegExp(`catch-up of ${ws} with ${memberId} failed`))
    assertNamesCause(failed)
  })

  it('the responder logs the decode error when a session starts with garbage', async () => {
    const v = victim!
    // A member: a stranger's session is refused before a byte of it is read, so only a member's garbage is decoded.
    const member = await startPeer(dirs[1]!.path, { catchupIntervalMs: 600_000 })
    try {
      const from = lines.length
      const stream = await member.node.dialProtocol(v.node.getMultiaddrs(), CATCHUP_PROTOCOL)
      await lpStream(stream).write(new TextEncoder().encode('not CBOR at all'))
      const failed = await waitFor(
        'the victim to log the failure',
        () => {
          const found = lines.slice(from).filter((l) => l.includes(`catch-up with ${memberId} failed while waiting for the summary`))
          return found.length > 0 ? found : null
        },
        15_000,
      )
      console.log(failed.join('\n'))
      assert.match(failed[0]!, /failed while waiting for the summary: undecodable message from the other side \(catch-up frame: .+\)/)
      stream.abort(new Error('done'))
    } finally {
      await member.stop()
    }
  })
})
