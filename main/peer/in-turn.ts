/**
 * Jobs run one at a time per key, in the order given: each starts once every job given before it under
 * the same key has settled, and one that fails does not hold up the next. The peer's per-document and
 * per-workspace queues (history counting, board methods, key passes) are this.
 */
export class InTurn {
  /** Per key, the last job given, settled (never rejects). */
  private readonly tails = new Map<string, Promise<void>>()

  run<T>(key: string, job: () => T | Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(job)
    const tail = result.then(
      () => {},
      () => {},
    )
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /** Whether a job is under way or waiting for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key)
  }

  /** Resolves once no job is under way or waiting for `key`, including jobs given while it waits. */
  async idle(key: string): Promise<void> {
    for (let t = this.tails.get(key); t; ) {
      await t
      const next = this.tails.get(key)
      t = next === t ? undefined : next
    }
  }

  /** Resolves once no job is under way or waiting under any key given so far. */
  async allIdle(): Promise<void> {
    await Promise.all([...this.tails.keys()].map((k) => this.idle(k)))
  }
}
