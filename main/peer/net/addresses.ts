/** Turning address strings from the store, an invite or a person into dialable multiaddrs. */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** Parses each address and makes it name `peerId` (/p2p/…); unparsable ones are left out. */
export function dialable(addresses: string[], peerId: string): Multiaddr[] {
  return addresses.flatMap((a) => {
    try {
      const ma = multiaddr(a)
      return [ma.getComponents().some((c) => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peerId}`)]
    } catch {
      return []
    }
  })
}
