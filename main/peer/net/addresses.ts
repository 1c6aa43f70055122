/** Turning address strings from the store, an invite or a person into dialable multiaddrs. */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** Parses each address and makes it name `peerId` (/p2p/…); unparsable ones are left out. */
export function dialable(addresses: string[], peerId: string): Multiaddr[] {
  return addresses.flatMap((a) => {
    try {
      const ma = multiaddr(a)
      // A relayed address names the relay (/p2p/R/p2p-circuit): only a last /p2p names the peer itself.
      return [ma.getComponents().at(-1)?.name === 'p2p' ? ma : ma.encapsulate(`/p2p/${peerId}`)]
    } catch {
      return []
    }
  })
}
