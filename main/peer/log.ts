/** The peer's log sink: the CLI prints it, the desktop app writes it to a rotating file. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type Log = (level: LogLevel, message: string) => void

export const silentLog: Log = () => {}

export function consoleLog(minLevel: LogLevel = 'info'): Log {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error']
  const min = order.indexOf(minLevel)
  return (level, message) => {
    if (order.indexOf(level) < min) return
    process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`)
  }
}

export function maxOf(values: Iterable<number>, start: number): number {
  let m = start
  for (const v of values) if (v > m) m = v
  return m
}

/** Counts of refused input by kind and source, logged as summaries instead of a line per message. */
export interface Tally {
  /** Counts one refusal; the first of a kind from a source is logged at once with its detail. */
  note(kind: string, source: string, detail: string): void
  /** Logs what was counted since the last summary (and forgets it). */
  flush(): void
  stop(): void
}

/**
 * A flood of junk (a stranger's garbage gossip, thousands of streams) must not become a flood of log
 * lines or an unbounded map: the first refusal per (kind, source) is logged with its detail, the rest
 * are counted and summarised every `intervalMs`; at most `maxKeys` pairs are tracked, the rest are
 * counted as "others".
 */
export function tallyLog(log: Log, what: string, opts: { intervalMs?: number; maxKeys?: number } = {}): Tally {
  const intervalMs = opts.intervalMs ?? 10_000
  const maxKeys = opts.maxKeys ?? 256
  let counts = new Map<string, { kind: string; source: string; n: number }>()
  let others = 0
  const flush = (): void => {
    const repeated = [...counts.values()].filter((c) => c.n > 1)
    if (repeated.length === 0 && others === 0) {
      counts = new Map()
      return
    }
    const byKind = new Map<string, { n: number; sources: number }>()
    for (const c of repeated) {
      const k = byKind.get(c.kind) ?? { n: 0, sources: 0 }
      k.n += c.n - 1
      k.sources++
      byKind.set(c.kind, k)
    }
    const top = repeated
      .sort((a, b) => b.n - a.n)
      .slice(0, 3)
      .map((c) => `${c.source} ${c.n - 1}× ${c.kind}`)
    const kinds = [...byKind].map(([kind, k]) => `${k.n}× ${kind} from ${k.sources} source${k.sources === 1 ? '' : 's'}`)
    if (others > 0) kinds.push(`${others} more from sources not tracked`)
    log(
      'warn',
      `${what} in the last ${Math.round(intervalMs / 1000)} s, besides those logged: ${kinds.join(', ')}${top.length ? ` (most: ${top.join('; ')})` : ''}`,
    )
    counts = new Map()
    others = 0
  }
  const timer = setInterval(flush, intervalMs)
  timer.unref()
  return {
    note(kind, source, detail) {
      const key = `${kind}\n${source}`
      const c = counts.get(key)
      if (c) {
        c.n++
        return
      }
      if (counts.size >= maxKeys) {
        others++
        return
      }
      counts.set(key, { kind, source, n: 1 })
      log('warn', `${what} (${kind}) from ${source}: ${detail}`)
    },
    flush,
    stop() {
      clearInterval(timer)
      flush()
    },
  }
}
