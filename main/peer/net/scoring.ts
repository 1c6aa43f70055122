/**
 * How much this peer trusts other peers on gossip. Strangers score -1000: below gossipsub's gossip
 * and publish thresholds, so they receive nothing from us, yet above the graylist threshold, so
 * their subscriptions are still recorded and a stranger who joins is in the mesh at once. Every
 * rejected message costs its sender a strike (decaying by half each minute); enough strikes and
 * even a teammate loses direct delivery, then gets graylisted.
 */
const STRANGER_SCORE = -1000
const STRIKE_WEIGHT = -100
const HALF_LIFE_MS = 60_000
/** Strikes above which a teammate is no longer a direct peer. */
const UNTRUSTED_STRIKES = 5
/** Peers whose strikes are remembered; a flood of fresh PeerIds forgets the faded ones, then the oldest. */
const MAX_TRACKED = 4096

/** What the scores are kept with (libp2p-style components, as the other parts of a peer). */
export interface PeerScoringComponents {
  /** This device's teammates in any workspace, now. */
  teammates: () => Set<string>
  /** Who is trusted changed (a teammate passed UNTRUSTED_STRIKES): gossipsub's direct peers follow. */
  onChange?: () => void
}

export class PeerScoring {
  private readonly strikes = new Map<string, { n: number; at: number }>()
  private readonly teammates: () => Set<string>
  private readonly onChange: () => void

  constructor(components: PeerScoringComponents) {
    const { teammates, onChange = () => {} } = components
    this.teammates = teammates
    this.onChange = onChange
  }

  strike(peerId: string): void {
    const n = this.penalty(peerId) + 1
    this.strikes.delete(peerId)
    if (this.strikes.size >= MAX_TRACKED) this.evict()
    // Re-inserted, so the map's order is oldest strike first.
    this.strikes.set(peerId, { n, at: Date.now() })
    if (n >= UNTRUSTED_STRIKES) this.onChange()
  }

  penalty(peerId: string): number {
    const s = this.strikes.get(peerId)
    if (!s) return 0
    const n = s.n * 0.5 ** ((Date.now() - s.at) / HALF_LIFE_MS)
    if (n < 0.01) this.strikes.delete(peerId)
    return n
  }

  /** Forgets faded strikes, then the oldest tenth, so that a flood pays for one scan per many strikes. */
  private evict(): void {
    for (const id of [...this.strikes.keys()]) this.penalty(id)
    while (this.strikes.size >= MAX_TRACKED * 0.9) this.strikes.delete(this.strikes.keys().next().value!)
  }

  score(peerId: string): number {
    return (this.teammates().has(peerId) ? 0 : STRANGER_SCORE) + STRIKE_WEIGHT * this.penalty(peerId)
  }

  /** Teammates in good standing: they get every message directly, mesh or not. */
  trusted(): Set<string> {
    return new Set([...this.teammates()].filter((id) => this.penalty(id) < UNTRUSTED_STRIKES))
  }
}
