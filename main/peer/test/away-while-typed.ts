/**
 * A scenario several tests share: Alice, Bob and Carol on 127.0.0.1 in one workspace with one document;
 * Bob goes away, and Alice types `keys` keys with Carol connected, each sent and acknowledged before the
 * next (each leaves alone, as in a session typed together). Bob's peer is stopped; `start` starts any of
 * the three again on its profile, at its own port.
 */
import * as A from '@automerge/automerge'
import type { Peer, PeerConfig } from '../peer.ts'
import { formWorkspace, startPeer, waitFor } from './helpers.ts'
import { openReplica } from './replica.ts'

export interface AwayWhileTyped {
  alice: Peer
  carol: Peer
  docId: string
  /** The text as Alice typed it; Carol holds it. */
  typed: string
  /** Starts peer `i` (0 Alice, 1 Bob, 2 Carol) on its profile. */
  start: (i: number, name: string) => Promise<Peer>
  text: (p: Peer) => Promise<string>
}

export async function awayWhileTyped(
  profiles: string[],
  keys: number,
  config: Partial<PeerConfig>,
  running: Peer[],
): Promise<AwayWhileTyped> {
  // The profile's own port each time, so that Bob restarted is found where he was; no periodic catch-up meanwhile.
  const start = (i: number, name: string): Promise<Peer> =>
    startPeer(profiles[i]!, { name, port: undefined, catchupIntervalMs: 600_000, ...config })
  const alice = await start(0, 'Alice')
  const bob = await start(1, 'Bob')
  const carol = await start(2, 'Carol')
  running.push(alice, carol)
  const ws = await formWorkspace(alice, [bob, carol])
  const ac = alice.connect()
  const docId = (await ac.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start\n' })).id
  const text = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text
  await waitFor('the document at Bob', async () => (await text(bob)) === 'start\n')
  await bob.stop()
  const replica = await openReplica(ac, docId)
  for (let i = 0; i < keys; i++) await replica.edit((d) => A.splice(d, ['text'], d.text.length, 0, 'abcdefghij'[i % 10]!))
  const typed = replica.text()
  replica.close()
  await waitFor('Carol holds it all', async () => (await text(carol)) === typed, 30_000)
  return { alice, carol, docId, typed, start, text }
}
