/**
 * automerge-repo with its MessageChannel adapter, every Repo in this one process (no storage, no
 * sockets): the lower bound of what automerge-repo's own machinery costs. Repo 0 is the writer and
 * has one channel to each other Repo. Commands take `peer` (the Repo's index).
 */
import { MessageChannel } from 'node:worker_threads'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { serve } from '../lib/serve.ts'
import { textPeerHandlers, type TextPeer } from '../lib/text-peer.ts'
import { amTextPeer, type AmDoc } from '../lib/am-text.ts'

const repos: Repo[] = []
const peers: (TextPeer | null)[] = []
const handlers: ReturnType<typeof textPeerHandlers>[] = []

const perPeer = (cmd: string) => (args: { peer: number }) => handlers[args.peer]![cmd]!(args)

serve(
  {
    ...Object.fromEntries(['watch', 'type', 'arrivals', 'seen', 'length', 'text', 'waitLength'].map((c) => [c, perPeer(c)])),
    async start({ n }: { n: number }) {
      const hub = new Repo({ network: [] })
      repos.push(hub)
      for (let i = 1; i < n; i++) {
        const { port1, port2 } = new MessageChannel()
        hub.networkSubsystem.addNetworkAdapter(new MessageChannelNetworkAdapter(port1 as never))
        repos.push(new Repo({ network: [new MessageChannelNetworkAdapter(port2 as never)] }))
      }
      for (let i = 0; i < n; i++) {
        peers.push(null)
        handlers.push(
          textPeerHandlers(
            () =>
              peers[i] ??
              (() => {
                throw new Error(`repo ${i} has no document`)
              })(),
          ),
        )
      }
      const h: DocHandle<AmDoc> = hub.create<AmDoc>({ text: '' })
      peers[0] = amTextPeer(h)
      for (let i = 1; i < n; i++) peers[i] = amTextPeer(await repos[i]!.find<AmDoc>(h.url))
      return h.url
    },
  },
  async () => {
    await Promise.all(repos.map((r) => r.shutdown().catch(() => {})))
  },
)
