/**
 * Membership of a workspace as a set of signed operations. The workspace id is the hash of its
 * `create` op, so nobody can forge another genesis for the same id. Each op names the ops its
 * author had seen (`prev`), so the ops form a causal graph. An op is judged in the state of its own
 * causal past, and "removal wins": an op concurrent with a revocation of its author's right never
 * takes effect, so a removed admin cannot act by back-dating or by pretending not to know (the full
 * rules are on `resolve`). Changes to documents are judged the same way (`Resolution.judge`): in the
 * membership state their author signed them under, so removal or demotion never invalidates history.
 */
import { heads, prevOf, type VerifiedOp } from './ops.ts'
import { resolve, type Resolution } from './resolve.ts'

export * from './ops.ts'
export * from './resolve.ts'

/**
 * The ops of one workspace this peer keeps, and those waiting for an op they name (`prev`). An op is
 * kept once its whole causal past is, if its author is the owner or was added by an op in that past:
 * a rule that depends on nothing but the op's own past, so every peer keeps the same ops, whatever
 * order they arrive in. Whether a kept op takes effect is `resolution()`'s business. Strangers' ops
 * are never kept. A removed member's back-dated ops are kept (they never take effect): dropping them
 * would make peers keep different sets, and ops that honest members built on would wait forever.
 */
export class OpGraph {
  readonly workspaceId: string
  private readonly kept = new Map<string, VerifiedOp>()
  private readonly waiting = new Map<string, VerifiedOp>()
  /** Devices added in an op's causal past and by the op itself (who may author ops after it). */
  private readonly known = new Map<string, ReadonlySet<string>>()
  private readonly maxWaiting: number
  private create: VerifiedOp | undefined
  private resolved: Resolution | null | undefined
  private headsCache: string[] | undefined

  constructor(workspaceId: string, maxWaiting = 4096) {
    this.workspaceId = workspaceId
    this.maxWaiting = maxWaiting
  }

  has(hash: string): boolean {
    return this.kept.has(hash)
  }

  ops(): VerifiedOp[] {
    return [...this.kept.values()]
  }

  /** Ops waiting for an op they name. */
  get waitingCount(): number {
    return this.waiting.size
  }

  heads(): string[] {
    this.headsCache ??= heads(this.kept.values())
    return this.headsCache
  }

  /** The membership these ops resolve to (cached until ops are added); null before the `create` op. */
  resolution(): Resolution | null {
    if (this.resolved === undefined) this.resolved = resolve(this.workspaceId, this.ops())
    return this.resolved
  }

  /**
   * Takes verified ops of this workspace; returns those kept now, in causal order (an op after those
   * it names). Ops whose `prev` is not all here wait (at most `maxWaiting`, oldest dropped: catch-up
   * brings them again). `trusted`: ops this peer kept before, which are kept without the author rule.
   */
  add(ops: VerifiedOp[], trusted = false): VerifiedOp[] {
    for (const o of ops) if (!this.kept.has(o.hash)) this.waiting.set(o.hash, o)
    const out: VerifiedOp[] = []
    let progress = true
    while (progress) {
      progress = false
      for (const o of this.waiting.values()) {
        const verdict = this.admissible(o, trusted)
        if (verdict === undefined) continue
        this.waiting.delete(o.hash)
        progress = true
        if (!verdict) continue
        this.keep(o)
        out.push(o)
      }
    }
    for (const h of [...this.waiting.keys()].slice(0, Math.max(0, this.waiting.size - this.maxWaiting))) this.waiting.delete(h)
    if (out.length) {
      this.resolved = undefined
      this.headsCache = undefined
    }
    return out
  }

  /** true: keep; false: never (its past is fixed); undefined: an op it names is not here yet. */
  private admissible(o: VerifiedOp, trusted: boolean): boolean | undefined {
    if (o.body.type === 'create') return this.create === undefined
    if (!this.create) return undefined
    const prev = prevOf(o).filter((p) => p !== this.create!.hash)
    if (!prev.every((p) => this.kept.has(p))) return undefined
    return trusted || o.body.by === this.create.body.by || prev.some((p) => this.known.get(p)!.has(o.body.by))
  }

  private keep(o: VerifiedOp): void {
    this.kept.set(o.hash, o)
    if (o.body.type === 'create') {
      this.create = o
      this.known.set(o.hash, new Set())
      return
    }
    const prev = prevOf(o).filter((p) => p !== this.create!.hash)
    let known: ReadonlySet<string> = prev.length === 1 ? this.known.get(prev[0]!)! : new Set(prev.flatMap((p) => [...this.known.get(p)!]))
    if (o.body.type === 'add' && !known.has(o.body.member)) known = new Set([...known, o.body.member])
    this.known.set(o.hash, known)
  }
}
