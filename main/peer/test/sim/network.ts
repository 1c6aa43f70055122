/**
 * The simulated network: which running peers may reach which. A partition puts every device in a
 * group; devices in different groups refuse each other's connections (the `deny` seam of
 * net/limits.ts, consulted on both sides), and the trial hangs up the connections already open.
 */
export class Network {
  private readonly groups = new Map<string, number>()

  /** Whether `a` and `b` are on different sides of the current partition. */
  blocked(a: string, b: string): boolean {
    return (this.groups.get(a) ?? 0) !== (this.groups.get(b) ?? 0)
  }

  /** The `deny` to give the peer of device `self`. */
  denyFor(self: string): (peerId: string) => boolean {
    return (peerId) => this.blocked(self, peerId)
  }

  /** Splits the devices: `groups[i]` are the devices of side i (a device not named is on side 0). */
  partition(groups: string[][]): void {
    this.groups.clear()
    groups.forEach((ids, side) => {
      for (const id of ids) this.groups.set(id, side)
    })
  }

  heal(): void {
    this.groups.clear()
  }

  get partitioned(): boolean {
    return new Set(this.groups.values()).size > 1
  }
}
