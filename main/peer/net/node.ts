/**
 * The libp2p node: TCP, Noise, Yamux, identify, gossipsub and (optionally) mDNS.
 * This is the only file that imports gossipsub, so swapping its implementation is one line.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify, type Identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { gossipsub, type GossipSub, type Message, type TopicValidatorResult } from '@libp2p/gossipsub'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { GOSSIPSUB_MAX_INBOUND_BYTES } from '../../../shared/limits.ts'

export type { GossipSub, Message as GossipsubMessage }
export type GrapevineNode = Libp2p<{ identify: Identify; pubsub: GossipSub }>

/** Gossipsub's validation verdicts (its enum's string values). */
export const VERDICT = {
  accept: 'accept' as TopicValidatorResult,
  ignore: 'ignore' as TopicValidatorResult,
  reject: 'reject' as TopicValidatorResult,
}

export interface NodeOptions {
  privateKey: Ed25519PrivateKey
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0. */
  listen: string[]
  mdns: boolean
  /** Score given by the app to a peer: members 0, strangers far below the graylist threshold. */
  appScore: (peerId: string) => number
}

export async function createNode(opts: NodeOptions): Promise<GrapevineNode> {
  return createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: opts.mdns ? [mdns({ interval: 10_000 })] : [],
    connectionManager: { maxConnections: 200 },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        // Publishing before the mesh has formed must not fail: catch-up fills any gap.
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        // Our own validator checks size, shape, membership and signatures before anything is forwarded.
        asyncValidation: false,
        maxInboundDataLength: GOSSIPSUB_MAX_INBOUND_BYTES,
        maxOutboundBufferSize: 16 * 1024 * 1024,
        scoreParams: {
          appSpecificScore: (peerId: string) => opts.appScore(peerId),
          appSpecificWeight: 1,
        },
        // Strangers (score -1000) are below the gossip and publish thresholds, so they get nothing from
        // us, but above the graylist threshold: their subscriptions are still recorded, so a stranger
        // who joins a workspace is in the mesh as soon as its score turns 0.
        scoreThresholds: {
          gossipThreshold: -10,
          publishThreshold: -50,
          graylistThreshold: -1_000_000,
          acceptPXThreshold: 10,
          opportunisticGraftThreshold: 20,
        },
      }),
    },
  })
}

export function peerIdString(p: PeerId | string): string {
  return typeof p === 'string' ? p : p.toString()
}
