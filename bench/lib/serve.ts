/**
 * The child side of workers.ts: answers the parent's commands. The process exits when the parent
 * disconnects, after `stop`, or when its lifetime (set by the parent) runs out.
 */
// biome-ignore lint/suspicious/noExplicitAny: each handler declares the arguments its parent sends over IPC; the worker boundary is the benchmark's own
export type Handlers = Record<string, (args: any) => unknown>

export function serve(handlers: Handlers, onStop: () => Promise<void> | void = () => {}): void {
  if (!process.send) throw new Error('a bench worker runs as a child process with an IPC channel')
  const lifetime = Number(process.env['BENCH_WORKER_LIFETIME_MS'] ?? 600_000)
  setTimeout(() => {
    console.error(`worker lifetime of ${lifetime} ms is over; exiting`)
    process.exit(3)
  }, lifetime).unref()
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    const hard = setTimeout(() => process.exit(4), 10_000)
    hard.unref()
    try {
      await onStop()
    } finally {
      process.exit(0)
    }
  }
  process.on('disconnect', () => void stop())
  process.on('message', async (m: { id: number; cmd: string; args: unknown }) => {
    if (m.cmd === 'stop') {
      process.send!({ id: m.id, ok: true, result: null })
      void stop()
      return
    }
    const h = handlers[m.cmd]
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`)
      const result = await h(m.args)
      process.send!({ id: m.id, ok: true, result })
    } catch (err) {
      process.send!({ id: m.id, ok: false, error: (err as Error).stack ?? String(err) })
    }
  })
  process.send({ ready: true })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
