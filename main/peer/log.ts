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
