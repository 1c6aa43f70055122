/**
 * What a keeper knows of a document it cannot open: each sealed change's Automerge hash and deps,
 * signed in clear beside the ciphertext. Enough to answer what Automerge answers for a reader (heads,
 * what a teammate lacks, which deps are missing) without a byte of content. Built from the store on
 * first use and kept up to date as changes are stored.
 */
import type { ChangeLog, ChangeRow } from '../store/types.ts'

interface Dag {
  deps: Map<string, readonly string[]>
  /** Hashes some change here names as a dep. */
  named: Set<string>
}

export class SealedLog {
  private readonly dags = new Map<string, Dag>()
  private readonly store: ChangeLog

  constructor(store: ChangeLog) {
    this.store = store
  }

  private dag(docId: string): Dag {
    let dag = this.dags.get(docId)
    if (!dag) {
      dag = { deps: new Map(), named: new Set() }
      this.dags.set(docId, dag)
      this.add(docId, this.store.changesAfter(docId, 0))
    }
    return dag
  }

  /** Rows just stored; those of an older version (no deps kept) count as roots. */
  add(docId: string, rows: Pick<ChangeRow, 'hash' | 'deps'>[]): void {
    const dag = this.dags.get(docId)
    if (!dag) return void this.dag(docId)
    for (const r of rows) {
      if (dag.deps.has(r.hash)) continue
      const deps = r.deps ?? []
      dag.deps.set(r.hash, deps)
      for (const d of deps) dag.named.add(d)
    }
  }

  /** The changes no change here builds on, sorted (Automerge's heads, once nothing is missing). */
  heads(docId: string): string[] {
    const dag = this.dag(docId)
    return [...dag.deps.keys()].filter((h) => !dag.named.has(h)).sort()
  }

  /** Deps named here that are not here. */
  missingDeps(docId: string): string[] {
    const dag = this.dag(docId)
    return [...dag.named].filter((h) => !dag.deps.has(h))
  }

  /** The stored changes a peer holding `theirHeads` lacks: all but the causal past of the heads known here. */
  missingFor(docId: string, theirHeads: string[]): ChangeRow[] {
    const theirs = causalPast(this.dag(docId).deps, theirHeads)
    return this.store.changesAfter(docId, 0).filter((r) => !theirs.has(r.hash))
  }

  forget(docId: string): void {
    this.dags.delete(docId)
  }
}

/** The changes of `heads` known in `deps` (hash → its deps) and everything under them there. */
function causalPast(deps: ReadonlyMap<string, readonly string[]>, heads: readonly string[]): Set<string> {
  const past = new Set<string>()
  const stack = heads.filter((h) => deps.has(h))
  while (stack.length) {
    const h = stack.pop()!
    if (past.has(h)) continue
    past.add(h)
    for (const d of deps.get(h) ?? []) if (!past.has(d)) stack.push(d)
  }
  return past
}

/**
 * The hashes of `links` (a document's rows: hash and deps, in log order) beyond the causal past of `heads`,
 * each after its deps; undefined unless the links are the whole history (every row names its deps, and
 * every dep and every head is a row), so that Automerge must answer instead.
 */
export function linksBeyond(
  links: readonly { hash: string; deps: readonly string[] | null }[],
  heads: readonly string[],
): string[] | undefined {
  const depsOf = new Map<string, readonly string[]>()
  for (const r of links) {
    if (r.deps === null) return undefined
    depsOf.set(r.hash, r.deps)
  }
  for (const deps of depsOf.values()) if (!deps.every((d) => depsOf.has(d))) return undefined
  if (!heads.every((h) => depsOf.has(h))) return undefined
  const done = causalPast(depsOf, heads)
  // The rest, each after its deps (the log is in arrival order, and a change may arrive before its deps).
  const beyond: string[] = []
  const visit = (h: string): void => {
    if (done.has(h)) return
    done.add(h)
    for (const d of depsOf.get(h)!) visit(d)
    beyond.push(h)
  }
  for (const r of links) visit(r.hash)
  return beyond
}
