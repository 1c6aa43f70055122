/**
 * Test helpers for hostile input: a raw libp2p node that speaks gossipsub and the catch-up protocol
 * directly (no Grapevine validation on its side), a throwaway device identity, and Automerge changes
 * built on top of a victim's document.
 */
import * as A from '@automerge/automerge'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
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
import { packId, rangesFromWire, rangesToWire, Reconciler } from '../sync/reconcile.ts'
import { headsKey } from '../sync/doc-content.ts'
import { sha256 } from '../identity/keys.ts'
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

/** A catch-up session opened by hand as the dialer, its reconciliation done (`dialCatchup`). */
export interface ManualCatchup {
  stream: Stream
  /** Every frame the peer sent so far. */
  frames: CatchupFrame[]
  /** The frame the peer answered the summary with (after its ops): `rc`, or `refuse` (then nothing else was done). */
  first: CatchupFrame
  /** What the reconciliation found: documents the peer holds that we do not (or differently), with its heads. */
  theirs: Map<string, string[]>
  read(): Promise<CatchupFrame>
  write(frame: CatchupFrame): Promise<void>
}

/**
 * Dials `peer`'s catch-up as a modified client would, claiming to hold `mine` (document ids and
 * heads) of workspace `ws`, with a summary digest that matches nothing; runs the reconciliation
 * (unless `reconcile` is false: then it returns once the first `rc` is in). A `busy` refusal (a
 * session of the peer's with this node is running) is retried.
 */
export async function dialCatchup(
  node: GrapevineNode,
  peer: PeerId | Multiaddr,
  ws: string,
  mine: { id: string; heads: string[] }[],
  signal: AbortSignal,
  reconcile = true,
): Promise<ManualCatchup & { lp: LengthPrefixedStream<Stream> }> {
  for (let attempt = 0; ; attempt++) {
    const stream = await node.dialProtocol(peer, CATCHUP_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
    const frames: CatchupFrame[] = []
    const read = async (): Promise<CatchupFrame> => {
      const f = decodeMessage(catchupFrame, (await lp.read({ signal })).subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
      frames.push(f)
      return f
    }
    const write = async (frame: CatchupFrame): Promise<void> => {
      await lp.write(encodeMessage(frame), { signal })
    }
    try {
      await write({ t: 'hi', v: PEER_PROTOCOL_VERSION, w: packId(ws), d: new Uint8Array(32) })
      let first = await read()
      // Every op the peer keeps comes first when our ops differ (they do: our digest matches nothing).
      while (first.t === 'ops') first = await read()
      if (first.t === 'refuse' && first.code === 'busy' && attempt < 50) {
        stream.abort(new Error('busy'))
        await new Promise((r) => setTimeout(r, 200))
        continue
      }
      const theirs = new Map<string, string[]>()
      if (first.t === 'rc' && reconcile) {
        const heads = new Map(mine.map((d) => [d.id, d.heads]))
        const toBin = (h: string[]): Uint8Array[] => h.map((x) => Buffer.from(x, 'hex'))
        const rec = new Reconciler<Uint8Array[]>(
          mine.map((d) => ({ id: d.id, fp: headsDigest(toBin(d.heads)) })),
          { initiator: true, valueOf: (id) => toBin(heads.get(id)!), fpOf: headsDigest },
        )
        let f: CatchupFrame = first
        for (;;) {
          if (f.t !== 'rc') throw new Error(`expected rc, got ${f.t}`)
          const ask = rec.receive(rangesFromWire(f.r), f.m === true)
          if (ask === null) {
            f = await read()
            continue
          }
          if (ask.length === 0) break
          await write({ t: 'rc', r: rangesToWire(ask) })
          f = await read()
        }
        for (const [id, h] of [...rec.theirs, ...rec.differ])
          theirs.set(
            id,
            h.map((x) => Buffer.from(x).toString('hex')),
          )
      }
      return { stream, lp, frames, first, theirs, read, write }
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }
}

const headsDigest = (heads: Uint8Array[]): Uint8Array => sha256(headsKey(heads.map((h) => Buffer.from(h).toString('hex')))).subarray(0, 16)

/**
 * Runs the dialer side of catch-up by hand against `peer`, offering `items` for `docId` whatever
 * they are (with `ops`, which also asks the peer for every op it keeps), and returns every frame the
 * peer sent back: its ops and the reconciliation's (`rc`), then its turn (`changes`…) ending with
 * `end`, or a `refuse`.
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
  // We claim to hold the document with no heads, so the peer lists it as differing, with its heads.
  const s = await dialCatchup(node, peer, ws, [{ id: docId, heads: [] }], signal)
  if (s.first.t !== 'rc') {
    await s.stream.close({ signal }).catch(() => {})
    return s.frames
  }
  try {
    await s.write({ t: 'ops', ops })
    const doc = packId(docId)
    if (items.length) await s.write({ t: 'changes', doc, items })
    // Report the peer's own heads back, so it has nothing to send us but `end`.
    const theirHeads = claim === 'none' ? [] : (s.theirs.get(docId) ?? [])
    await s.write({ t: 'heads', docs: [{ i: doc, h: theirHeads.map((h) => Buffer.from(h, 'hex')) }] })
    await s.write({ t: 'end' })
    for (;;) {
      const f = await s.read()
      if (f.t === 'end' || f.t === 'refuse') break
    }
    await s.stream.close({ signal }).catch(() => {})
  } catch (err) {
    s.stream.abort(err as Error)
    throw err
  }
  return s.frames
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
