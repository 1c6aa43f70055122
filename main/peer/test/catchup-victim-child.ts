/**
 * Child process for catchup-failure.test.ts: a member's peer that runs a catch-up session with the
 * victim by hand (as the dialer, or answering the victim's dial), asks for every document in full,
 * then stops reading so that the victim's writes wait, prints WAITING, and waits to be killed with SIGKILL.
 * Usage: node catchup-victim-child.ts <profileDir> <victimAddr> <workspaceId> dialer|responder
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import { CATCHUP_PROTOCOL, catchupFrame, decodeMessage, encodeMessage, PEER_PROTOCOL_VERSION } from '../wire/peer-protocol.ts'
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
  // We dial the victim with an empty summary (so every document differs) and claim to hold none of them.
  const stream = await peer.node.dialProtocol(multiaddr(victimAddr), CATCHUP_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
  await lp.write(encodeMessage({ t: 'summary', v: PEER_PROTOCOL_VERSION, ws, ops: [], docs: [] }))
  const want = await readFrame(lp)
  if (want.t !== 'want') throw new Error(`expected want, got ${want.t}`)
  // Stop reading before the message that makes the victim send: its sends fill the stream's window (yamux grants
  // no more while we do not read), and its writes wait for a drain that never comes.
  stream.pause()
  await lp.write(encodeMessage({ t: 'heads', docs: want.docs.map(([d]) => [d, []]) }))
  await lp.write(encodeMessage({ t: 'end' }))
  process.stdout.write('WAITING\n')
} else {
  // The victim dials us: we answer its summary asking for every document in full, and stop reading.
  await peer.node.handle(
    CATCHUP_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
      const summary = await readFrame(lp)
      if (summary.t !== 'summary') throw new Error(`expected summary, got ${summary.t}`)
      stream.pause() // as above
      await lp.write(encodeMessage({ t: 'want', ops: [], docs: summary.docs.map(([d]) => [d, []]) }))
      process.stdout.write('WAITING\n')
    },
    { force: true },
  )
  await peer.node.dial(multiaddr(victimAddr))
  process.stdout.write('READY\n')
}
await new Promise(() => {})
