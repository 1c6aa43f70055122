/**
 * Child processes for benchmarks: each system's peers run in their own OS process (spawned with
 * this Node, `process.execPath`), driven over Node's IPC channel with request/response commands.
 * Every call has a time limit; every child has a lifetime limit, exits when its parent goes away,
 * and is killed (by its own pid) when the parent exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const WORKERS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'workers')

export interface Worker {
  readonly name: string
  readonly pid: number
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>
  /** Asks the worker to stop (command `stop`, then SIGKILL if it does not exit in time). */
  stop(graceMs?: number): Promise<void>
  kill(): void
}

const live = new Set<ChildProcess>()
let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const c of live) if (c.exitCode === null && c.pid) c.kill('SIGKILL')
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) if (c.exitCode === null && c.pid) c.kill('SIGKILL')
      process.exit(130)
    })
  }
}

export interface SpawnOptions {
  /** The child exits by itself after this long, whatever happens (default 10 minutes). */
  lifetimeMs?: number
  /** Extra Node flags, e.g. --max-old-space-size. */
  nodeArgs?: string[]
  readyTimeoutMs?: number
}

/** Starts `workers/<script>` and resolves once it said it is ready. */
export async function spawnWorker(script: string, name = script, opts: SpawnOptions = {}): Promise<Worker> {
  hookExit()
  // BENCH_NODE_ARGS: extra Node flags for every worker, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' (not allowed in NODE_OPTIONS).
  const extra = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...extra, ...(opts.nodeArgs ?? []), '--no-warnings', join(WORKERS_DIR, script)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, BENCH_WORKER_LIFETIME_MS: String(opts.lifetimeMs ?? 10 * 60_000) },
  })
  live.add(child)
  const tail: string[] = []
  const keep = (buf: Buffer): void => {
    for (const l of buf.toString().split('\n')) if (l.trim()) tail.push(`[${name}] ${l}`)
    if (tail.length > 40) tail.splice(0, tail.length - 40)
    if (process.env['BENCH_VERBOSE']) process.stderr.write(buf)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child)
      resolve(code)
    }),
  )
  let seq = 0
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
    if (m.id === undefined) return
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.ok) w.resolve(m.result)
    else w.reject(new Error(`${name}: ${m.error}`))
  })
  void exited.then((code) => {
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (code ${code}) during a call\n${tail.join('\n')}`))
    waiting.clear()
  })
  const ready = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start in time\n${tail.join('\n')}`)), opts.readyTimeoutMs ?? 30_000)
    child.on('message', (m: { ready?: boolean }) => {
      if (m.ready) {
        clearTimeout(t)
        resolve()
      }
    })
    void exited.then((code) => {
      clearTimeout(t)
      reject(new Error(`${name} exited (code ${code}) before it was ready\n${tail.join('\n')}`))
    })
  })
  await ready
  const w: Worker = {
    name,
    pid: child.pid!,
    exited,
    call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
      const id = ++seq
      return new Promise<T>((resolve, reject) => {
        if (child.exitCode !== null || !child.connected) return reject(new Error(`${name} is not running`))
        const t = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`${name}: ${cmd} timed out after ${timeoutMs} ms\n${tail.join('\n')}`))
        }, timeoutMs)
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(t)
            resolve(v as T)
          },
          reject: (e) => {
            clearTimeout(t)
            reject(e)
          },
        })
        child.send({ id, cmd, args })
      })
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null) return
      await w.call('stop', undefined, graceMs).catch(() => {})
      const t = setTimeout(() => w.kill(), graceMs)
      await exited
      clearTimeout(t)
    },
    kill() {
      if (child.exitCode === null && child.pid) child.kill('SIGKILL')
    },
  }
  return w
}

/** Stops every worker in parallel (kills the ones that do not stop in time). */
export async function stopAll(workers: readonly (Worker | undefined)[]): Promise<void> {
  await Promise.all(workers.map((w) => w?.stop()))
}
