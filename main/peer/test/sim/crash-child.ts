/**
 * Child process of the convergence simulation's kill -9 phase: runs one member's peer on its profile,
 * dials the running teammates it is given, and inserts random text into the documents it is given as
 * fast as it can (several edits in flight), printing `ACK <docId> <hash>` as soon as the peer says an
 * edit is durable. The parent SIGKILLs it at a moment of its choosing.
 * Usage: node crash-child.ts <profileDir> <seed> <docIds, comma-separated> [<address>…]
 */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../../shared/doc-content.ts'
import { startPeer } from '../helpers.ts'
import { seededRandom } from '../random.ts'

const [profileDir, seed, docList, ...bootstrap] = process.argv.slice(2)
if (!profileDir || !seed || !docList) throw new Error('usage: crash-child.ts <profileDir> <seed> <docIds> [<address>…]')
const rnd = seededRandom('crash-child', Number(seed))
const docIds = docList.split(',')

const peer = await startPeer(profileDir, { bootstrap })
const client = peer.connect()
process.stdout.write('READY\n')

async function insertOnce(docId: string, at: number, text: string): Promise<void> {
  const opened = await client.request('doc.open', { docId })
  try {
    const doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
    if (typeof doc.text !== 'string') return
    const next = A.change(doc, (d) => A.splice(d, ['text'], Math.floor(at * (d.text.length + 1)), 0, text))
    const change = A.getLastLocalChange(next)
    if (!change) return
    await client.request('doc.applyChanges', { docId, changes: [change] })
    process.stdout.write(`ACK ${docId} ${A.decodeChange(change).hash}\n`)
  } finally {
    await client.request('doc.close', { docId })
  }
}

const deadline = Date.now() + 30_000 // bounded even if nobody kills it
const inFlight = new Set<Promise<void>>()
while (Date.now() < deadline) {
  const p = insertOnce(rnd.pick(docIds), rnd.next(), `{${rnd.text(4)}}`)
  inFlight.add(p)
  void p.finally(() => inFlight.delete(p))
  if (inFlight.size >= 4) await Promise.race(inFlight)
}
await Promise.all(inFlight)
await peer.stop()
