/**
 * Reach: which members of a workspace each connected teammate has a connection to, as it says itself.
 *
 * Every device tells its connected teammates, over the live path, which members of each workspace they
 * share it is connected to now (a `reach` message: when its connections change, and every
 * `REPORT_EVERY_MS`). With that, `Gossip.send` tells a member who is away (connected to this device and
 * to no one this device hears from) from a member it may reach only through others. A message goes on
 * the gossipsub topic only for the second kind. Before, one member away sent every message on the topic,
 * where each member got a copy from each other member and dropped it: about a third of all the CPU a
 * team of 8 spends per keystroke, and in a team spread over time zones somebody is always away. A member
 * who is away gets it all by catch-up when it connects, as it would from gossip's own history anyway.
 *
 * A member counts as reachable unless this device has a fresh report from every connected member of
 * the workspace and none names it: a teammate connected just now, a report lost or late, or one older
 * than `FRESH_MS` keeps the topic in use. What remains is the moment between a member connecting to a
 * teammate and that teammate's report arriving here (about `REPORT_DEBOUNCE_MS` and a hop): a message
 * sent then reaches that member by catch-up, not gossip. A member could lie about whom it reaches; what
 * that withholds from others comes by catch-up too, which members run with each other directly.
 */

/** A report older than this is not relied on: the members it leaves out are taken to be reachable. */
const FRESH_MS = 60_000
/** Each device reports this often even when nothing changed, so that reports stay fresh. */
export const REPORT_EVERY_MS = 20_000
/** Connections that change together (a device coming back connects to several teammates) make one report. */
export const REPORT_DEBOUNCE_MS = 100

export interface ReachComponents {
  /** This device. */
  self: string
  /** The members of a workspace (device ids), or undefined if this device knows no such workspace. */
  members: (workspaceId: string) => Iterable<string> | undefined
  now: () => number
}

interface Report {
  to: Set<string>
  at: number
}

export class Reach {
  private readonly c: ReachComponents
  /** workspace → reporting teammate → whom it said it is connected to. */
  private readonly reports = new Map<string, Map<string, Report>>()

  constructor(components: ReachComponents) {
    this.c = components
  }

  /** A teammate's report (the caller checked that it is a member of the workspace). Names that are not members are left out. */
  receive(workspaceId: string, from: string, to: readonly string[]): void {
    const members = new Set(this.c.members(workspaceId) ?? [])
    let byReporter = this.reports.get(workspaceId)
    if (!byReporter) {
      byReporter = new Map()
      this.reports.set(workspaceId, byReporter)
    }
    byReporter.set(from, { to: new Set(to.filter((d) => members.has(d))), at: this.c.now() })
  }

  /** A teammate disconnected: what it said is no longer news of anyone's reach through it. */
  forget(peer: string): void {
    for (const byReporter of this.reports.values()) byReporter.delete(peer)
  }

  /**
   * Whether `member` is away: not among the peers this device is connected to (`connected`, direct or
   * through a relay), and every other member it is connected to has reported within `FRESH_MS` without
   * naming it. Then no teammate could pass a message on to it.
   */
  away(workspaceId: string, member: string, connected: ReadonlySet<string>): boolean {
    if (connected.has(member)) return false
    const byReporter = this.reports.get(workspaceId)
    const now = this.c.now()
    for (const m of this.c.members(workspaceId) ?? []) {
      if (m === this.c.self || m === member || !connected.has(m)) continue
      const r = byReporter?.get(m)
      if (!r || now - r.at > FRESH_MS || r.to.has(member)) return false
    }
    return true
  }

  /** What this device reports for a workspace: the members among the peers it is connected to (`connected`). */
  report(workspaceId: string, connected: ReadonlySet<string>): string[] {
    const to: string[] = []
    for (const m of this.c.members(workspaceId) ?? []) if (m !== this.c.self && connected.has(m)) to.push(m)
    return to
  }
}
