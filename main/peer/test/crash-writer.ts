/**
 * Child process for the crash test: opens a profile, appends numbered lines to a document as fast
 * as it can (several edits in flight at once), and prints `ACK n` as soon as the peer acknowledges
 * line n as durable. The parent kills it with SIGKILL at a random moment.
 * Usage: node crash-writer.ts <profileDir> <docId> <firstLine>
 */
import * as A from '@automerge/automerge'
import { startPeer } from './helpers.ts'
import { openReplica } from './replica.ts'

const [profileDir, docId, first] = process.argv.slice(2)
if (!profileDir || !docId || first === undefined) throw new Error('usage: crash-writer.ts <profileDir> <docId> <firstLine>')

const peer = await startPeer(profileDir)
const replica = await openReplica(peer.connect(), docId)
process.stdout.write('READY\n')
const deadline = Date.now() + 60_000 // bounded even if nobody kills it
let n = Number(first)
const inFlight = new Set<Promise<void>>()
while (Date.now() < deadline) {
  const line = n++
  const p = replica
    .edit((d) => A.splice(d, ['text'], String(d.text).length, 0, `line ${line}\n`))
    .then(() => void process.stdout.write(`ACK ${line}\n`))
  inFlight.add(p)
  void p.finally(() => inFlight.delete(p))
  if (inFlight.size >= 8) await Promise.race(inFlight)
}
await Promise.all(inFlight)
await peer.stop()
