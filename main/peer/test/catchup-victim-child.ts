/**
 * Child process for catchup-failure.test.ts: a member's peer that runs a catch-up session with the
 * victim by hand (as the dialer, or answering the victim's dial), claims to hold no document,
 * then stops reading so that the victim's writes wait, prints WAITING, and waits to be killed with SIGKILL.
 * Usage: node catchup-victim-child.ts <profileDir> <victimAddr> <workspaceId> dialer|responder
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import { CATCHUP_PROTOCOL, catchupFrame, decodeMessage, encodeMessage } from '../wire/peer-protocol.ts'
import { packId } from '../sync/reconcile.ts'
import { dialCatchup } from './attacker.ts'
import { startPeer } from './helpers.ts'

const [profileDir, victimAddr, ws, role] = process.argv.slice(2)
if (!profileDir || !victimAddr || !ws || (role !== 'dialer' && role !== 'responder')) {
  throw new Error('usage: catchup-victim-child.ts <profileDir> <victimAddr> <workspaceId> dialer|responder')
}
setTimeout(() => process.exit(3), 60_000).unref() // bounded even if nobody kills it

const peer = await startPeer(profileDir, { catchupIntervalMs: 600_000 })
const readFrame = async (lp: LengthPrefixedStream<Stream>) =>
  decodeMessage(catchupFrame, (await lp.read()).subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')

if (role === 'dialer') {
  // We dial the victim claiming to hold no document, so every one of its documents is ours to ask for.
  const s = await dialCatchup(peer.node, multiaddr(victimAddr), ws, [], AbortSignal.timeout(30_000))
  if (s.first.t !== 'rc') throw new Error(`expected rc, got ${s.first.t}`)
  // Stop reading before the message that makes the victim send: its sends fill the stream's window (yamux grants
  // no more while we do not read), and its writes wait for a drain that never comes.
  s.stream.pause()
  await s.write({ t: 'heads', docs: [...s.theirs.keys()].map((d) => ({ i: packId(d), h: [] })) })
  await s.write({ t: 'end' })
  process.stdout.write('WAITING\n')
} else {
  // The victim dials us: we answer its summary holding no document, so it sends us every one, and stop reading.
  await peer.node.handle(
    CATCHUP_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
      const summary = await readFrame(lp)
      if (summary.t !== 'hi') throw new Error(`expected hi, got ${summary.t}`)
      stream.pause() // as above
      await lp.write(encodeMessage({ t: 'rc', o: new Uint8Array(32), r: [[null, 2, []]] }))
      process.stdout.write('WAITING\n')
    },
    { force: true },
  )
  await peer.node.dial(multiaddr(victimAddr))
  process.stdout.write('READY\n')
}
await new Promise(() => {})
