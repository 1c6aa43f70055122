/**
 * How a teammate is reached, in words, the same in the app's network view and the CLI's `peers`:
 * "On this LAN · 3 ms", "Direct over the internet", "Relayed through Bob's peer".
 */
import type { PeerInfo } from './types.ts'

export function reachText(p: Pick<PeerInfo, 'how' | 'rttMs' | 'relayedBy' | 'relayedByName' | 'addresses'>): string {
  const n = p.addresses.length
  if (!p.how) return n ? `Not reachable now (${n} address${n === 1 ? '' : 'es'} known)` : 'No address known'
  const rtt = p.rttMs === null ? '' : ` · ${Math.round(p.rttMs)} ms round trip`
  if (p.how === 'lan') return `On this LAN${rtt}`
  if (p.how === 'internet') return `Direct over the internet${rtt}`
  return `Relayed through ${p.relayedByName ? `${p.relayedByName}’s peer` : (p.relayedBy ?? 'a relay')}${rtt}`
}
