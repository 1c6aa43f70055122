/**
 * Test helpers for hostile input: a raw libp2p node that speaks gossipsub and the catch-up protocol
 * directly (no Grapevine validation on its side), a throwaway device identity, and Automerge changes
 * built on top of a victim's document.
 */
import * as A from '@automerge/automerge'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { join } from 'node:path'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import { createNode, type GrapevineNode } from '../net/node.ts'
import type { Peer } from '../peer.ts'
import { loadOrCreateDevice, type Device } from '../identity/device.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import {
  CATCHUP_PROTOCOL,
  catchupFrame,
  decodeMessage,
  encodeMessage,
  PEER_PROTOCOL_VERSION,
  type CatchupFrame,
  type SignedChange,
  type SignedOp,
} from '../wire/peer-protocol.ts'
import { tempDir, waitFor } from './helpers.ts'
import assert from 'node:assert/strict'
import { GrapevineError, type PeerClient } from '../../../shared/protocol.ts'

/** A bare libp2p node on 127.0.0.1 with its own key; it scores everyone 0, so it publishes to anyone subscribed. */
export async function startAttackerNode(): Promise<GrapevineNode> {
  const privateKey = await generateKeyPair('Ed25519')
  return createNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, appScore: () => 0 })
}

/**
 * Makes `node` a gossipsub neighbour of `victim` on `topic`: dials it (if not connected), subscribes,
 * waits until each side sees the other subscribed (or, for a non-member, until the victim's topic gate
 * has held its subscription back), then gives the mesh a moment to settle.
 */
export async function meshWith(node: GrapevineNode, victim: Peer, topic: string): Promise<void> {
  const victimId = victim.node.peerId
  const withheld = victim.stats().gate.withheld
  if (!node.getConnections(victimId).some((c) => c.status === 'open')) await node.dial(victim.node.getMultiaddrs())
  if (!node.services.pubsub.getTopics().includes(topic)) node.services.pubsub.subscribe(topic)
  await waitFor('the victim in the topic', () => node.services.pubsub.getSubscribers(topic).some((p) => p.equals(victimId)), 15_000)
  await waitFor(
    'the victim to see our subscription (or hold it back)',
    () => victim.node.services.pubsub.getSubscribers(topic).some((p) => p.equals(node.peerId)) || victim.stats().gate.withheld > withheld,
    15_000,
  )
  await new Promise((r) => setTimeout(r, 1_500))
}

/** A device identity in a throwaway profile database (not a peer, never a member). */
export async function throwawayDevice(): Promise<{ device: Device; close(): void }> {
  const dir = tempDir('grapevine-attacker-')
  const store = new SqliteStore(join(dir.path, 'attacker.db'))
  const device = await loadOrCreateDevice(store)
  return {
    device,
    close: () => {
      store.close()
      dir.remove()
    },
  }
}

/** One Automerge change on top of a document saved as `docBytes`, written by `actor` (48 hex chars). */
export function changeOnTop(docBytes: Uint8Array, actor: string, insert = 'EVIL '): Uint8Array {
  const doc = A.load<{ text: string }>(docBytes, { actor })
  const next = A.change(doc, (d) => A.splice(d, ['text'], 0, 0, insert))
  const bytes = A.getLastLocalChange(next)
  if (!bytes) throw new Error('no change was made')
  return bytes
}

/**
 * Runs the dialer side of catch-up by hand against `peer`, offering `items` for `docId` whatever
 * they are, and returns every frame the peer sent back (ending with `end` or `refuse`).
 */
export async function catchupInject(
  node: GrapevineNode,
  peer: PeerId,
  ws: string,
  docId: string,
  items: SignedChange[],
  ops: SignedOp[] = [],
  /** 'none': claim to hold nothing of the document, so the peer sends every change it has. */
  claim: 'its-heads' | 'none' = 'its-heads',
): Promise<CatchupFrame[]> {
  const signal = AbortSignal.timeout(15_000)
  const stream = await node.dialProtocol(peer, CATCHUP_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
  const read = async (): Promise<CatchupFrame> =>
    decodeMessage(catchupFrame, (await lp.read({ signal })).subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
  const frames: CatchupFrame[] = []
  try {
    // A digest that matches nothing, so the peer lists the document as differing.
    await lp.write(encodeMessage({ t: 'summary', v: PEER_PROTOCOL_VERSION, ws, ops, docs: [[docId, new Uint8Array(16)]] }), { signal })
    const first = await read()
    frames.push(first)
    if (first.t !== 'want') return frames
    // Report the peer's own heads back, so it has nothing to send us but `end`.
    const theirHeads = claim === 'none' ? [] : (first.docs.find(([d]) => d === docId)?.[1] ?? [])
    if (items.length) await lp.write(encodeMessage({ t: 'changes', ws, doc: docId, items }), { signal })
    await lp.write(encodeMessage({ t: 'heads', docs: [[docId, theirHeads]] }), { signal })
    await lp.write(encodeMessage({ t: 'end' }), { signal })
    for (;;) {
      const f = await read()
      frames.push(f)
      if (f.t === 'end' || f.t === 'refuse') break
    }
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
  return frames
}

export type Dir = ReturnType<typeof tempDir>

/** Asserts that `p` rejects with a GrapevineError whose code is one of `codes`. */
export async function rejectsWith(p: Promise<unknown>, codes: string[], what: string): Promise<GrapevineError> {
  let caught: unknown
  await assert.rejects(
    p,
    (err: unknown) => {
      caught = err
      return true
    },
    `${what}: expected a rejection`,
  )
  assert.ok(caught instanceof GrapevineError, `${what}: expected a GrapevineError, got ${String(caught)}`)
  assert.ok(codes.includes(caught.code), `${what}: expected code ${codes.join(' or ')}, got ${caught.code} (${caught.message})`)
  assert.ok(caught.message.length > 0, `${what}: the error should say what is wrong`)
  return caught
}

/** A request with whatever method and params, bypassing the client's types. */
export const rawRequest = (c: PeerClient, method: string, params: unknown): Promise<unknown> => c.request(method as never, params as never)

export async function stopAll(peers: (Peer | undefined)[], dirs: Dir[]): Promise<void> {
  await Promise.allSettled(peers.map((p) => p?.stop()))
  for (const d of dirs) d.remove()
}
