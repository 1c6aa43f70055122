/**
 * Runs inside a private network namespace (see mdns.test.ts): two peers that share a workspace
 * but know no address of each other find each other with mDNS, connect, and sync an edit.
 * Prints one line of JSON with what happened.
 */
import { startPeer, tempDir, waitFor, formWorkspace } from './helpers.ts'

const a = tempDir()
const b = tempDir()
const result: Record<string, unknown> = {}
try {
  // First meeting: by invite, so that they are teammates.
  let pa = await startPeer(a.path, { name: 'ana' })
  let pb = await startPeer(b.path, { name: 'ben' })
  const ws = await formWorkspace(pa, [pb])
  await Promise.all([pa.stop(), pb.stop()])
  // Then on new ports, with no address to dial: only mDNS can bring them together.
  pa = await startPeer(a.path, { mdns: true, port: 0 })
  pb = await startPeer(b.path, { mdns: true, port: 0 })
  const t0 = Date.now()
  await waitFor('mDNS discovery and a connection', () => pa.node.getPeers().some((p) => p.equals(pb.node.peerId)), 20_000)
  result['connectMs'] = Date.now() - t0
  const doc = await pa.connect().request('doc.create', { workspaceId: ws, title: 'Found you', text: 'over mDNS' })
  await waitFor('the document on ben', async () => (await pb.connect().request('doc.read', { docId: doc.id })).text === 'over mDNS', 20_000)
  result['synced'] = true
  await Promise.all([pa.stop(), pb.stop()])
} catch (err) {
  result['error'] = (err as Error).message
} finally {
  a.remove()
  b.remove()
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
