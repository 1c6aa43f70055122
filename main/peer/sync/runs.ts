/**
 * Runs: several of this device's changes to one document, sealed together as one Automerge bundle
 * and signed once (change-validation.ts `sealRun`). A keystroke is one change, and one signature,
 * sealed box and log row of its own; a run of ten thousand keystrokes is one of each, and its bundle
 * is Automerge's compressed columns (a few hundred bytes for a paragraph typed in one go).
 *
 * Which changes form runs: those made while this device had no connection at all. Nobody can hold
 * them, so nobody can have built on one of them, and a run is a unit everywhere: stored, forwarded
 * and judged whole, never split, and named by its last change. (A change that left on its own stays
 * a change of its own for good: a teammate may have built on it.) A run is a chain, each change
 * building on the one before and nothing else, under one epoch and one membership state, so that
 * its first change's deps and its last change's hash say where it sits in the history.
 *
 * They are sealed (`Documents.sealRuns`) once typing pauses (`SEAL_IDLE_MS`) or a document has
 * `SEAL_EVERY` of them, so that a returning teammate does not wait for it; and whatever is left when
 * the first connection opens, before any catch-up serves the document, before the next change of
 * the document is published, and when the peer stops. Until then they are stored as changes of their own, as any edit is, and a run takes their
 * place in the log in one commit. After a crash they stay changes of their own.
 */

/** Unsent changes are sealed this long after the last one was made... */
export const SEAL_IDLE_MS = 300
/** ...or as soon as a document has this many. */
export const SEAL_EVERY = 1024

/** What a run needs of an unsent change: where it sits, and what its signature would be judged by. */
export interface UnsentChange {
  hash: string
  deps: string[]
  epoch: string
  /** The membership heads it was signed under. */
  m: string[]
  /** Its Automerge actor and time (s): a run's are its last change's. */
  actor: string
  time: number
}

/** This device's changes not sent to anyone yet, by document, in the order they were made. */
export class Unsent {
  private readonly byDoc = new Map<string, { ws: string; changes: UnsentChange[] }>()

  /** Adds changes; returns how many the document has unsent now. */
  add(ws: string, docId: string, changes: UnsentChange[]): number {
    const entry = this.byDoc.get(docId) ?? { ws, changes: [] }
    entry.changes.push(...changes)
    if (entry.changes.length) this.byDoc.set(docId, entry)
    return entry.changes.length
  }

  has(docId: string): boolean {
    return this.byDoc.has(docId)
  }

  docs(): string[] {
    return [...this.byDoc.keys()]
  }

  /** Takes the document's unsent changes: they are about to be sealed, or sent as they are. */
  take(docId: string): { ws: string; changes: UnsentChange[] } | undefined {
    const entry = this.byDoc.get(docId)
    this.byDoc.delete(docId)
    return entry
  }
}

/**
 * Cuts unsent changes into runs: maximal chains (each change's only dep is the change before it),
 * each under one epoch and one membership state, none of whose changes but the last is named by a
 * change outside the chain, at most `maxChanges` long. A chain of one stays the change it is.
 */
export function chainsOf(changes: UnsentChange[], maxChanges: number): UnsentChange[][] {
  // How many changes name each hash: a change named by another besides its successor must end a chain.
  const named = new Map<string, number>()
  for (const c of changes) for (const d of c.deps) named.set(d, (named.get(d) ?? 0) + 1)
  const chains: UnsentChange[][] = []
  let chain: UnsentChange[] = []
  const close = (): void => {
    if (chain.length) chains.push(chain)
    chain = []
  }
  for (const c of changes) {
    const prev = chain.at(-1)
    const continues =
      prev !== undefined &&
      c.deps.length === 1 &&
      c.deps[0] === prev.hash &&
      (named.get(prev.hash) ?? 0) === 1 &&
      c.epoch === prev.epoch &&
      sameList(c.m, prev.m) &&
      chain.length < maxChanges
    if (!continues) close()
    chain.push(c)
  }
  close()
  return chains
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
