/**
 * Runs the peer in its own process and keeps it running: starts it with its config, passes its
 * log lines on, restarts it after an unexpected exit (see restart-policy.ts), and stops it cleanly
 * on quit so that the last acknowledged edits are on disk. Electron's `utilityProcess` is passed in
 * as `fork`, so the lifecycle is tested with a fake process.
 */
import { decideRestart, pruneRestartTimes, DEFAULT_RESTART_POLICY, type RestartPolicy } from './restart-policy.ts'
import { parsePeerMessage, type MainToPeer, type PeerLogLevel, type PeerStartConfig } from './peer-messages.ts'

/** The parts of Electron's UtilityProcess used here. */
export interface ChildProcessLike {
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'exit', listener: (code: number) => void): unknown
  postMessage(message: MainToPeer, transfer?: unknown[]): void
  kill(): boolean
  readonly stdout?: NodeJS.ReadableStream | null
  readonly stderr?: NodeJS.ReadableStream | null
}

export type PeerState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopping' | 'stopped'

export interface PeerSupervisorDeps {
  fork(): ChildProcessLike
  /** The `start` config, read afresh for every start (the device key may have been sealed since). */
  startConfig(): Promise<PeerStartConfig>
  /**
   * Keeps the peer's device key (seals it and writes the sealed copy); resolves once that succeeded,
   * rejects if it did not. The peer is told so, and uses the key only after a success.
   */
  onDeviceKey(key: Uint8Array): Promise<void>
  onLog(level: PeerLogLevel, message: string): void
  /** Every state change; `detail` says why for 'failed' and 'restarting'. */
  onState(state: PeerState, detail?: string): void
  policy?: RestartPolicy
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
  /** How long a peer that reported a fatal error gets to exit before it is killed. */
  fatalGraceMs?: number
}

export class PeerSupervisor {
  private child: ChildProcessLike | null = null
  private current: PeerState = 'idle'
  private restartTimes: number[] = []
  /** A fatal error the peer reported before it was ready: its start cannot succeed as things are. */
  private fatalAtStart: string | null = null
  private exited: (() => void) | null = null
  private stopping: Promise<void> | null = null
  /** Kills a peer that does not exit when asked (stop, fatal); cleared when it exits. */
  private killTimer: unknown = null
  /** The process that has handed over its key: one key per start, and only while starting. */
  private keyFrom: ChildProcessLike | null = null
  private readonly deps: PeerSupervisorDeps
  private readonly now: () => number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (timer: unknown) => void

  constructor(deps: PeerSupervisorDeps) {
    this.deps = deps
    this.now = deps.now ?? Date.now
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = deps.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>))
  }

  get state(): PeerState {
    return this.current
  }

  /** Starts the peer (again, after 'failed': a person asked to retry, so the budget resets). */
  start(): void {
    if (this.child || this.current === 'stopping' || this.current === 'stopped') return
    if (this.current === 'failed') this.restartTimes = []
    void this.spawn()
  }

  /** Hands the peer one end of a new client channel; false if it is not ready to serve one. */
  connect(port: unknown): boolean {
    if (this.current !== 'ready' || !this.child) return false
    this.child.postMessage({ type: 'connect' }, [port])
    return true
  }

  /** Asks the peer to stop and waits for it to exit; kills it after `timeoutMs`. */
  stop(timeoutMs = 5000): Promise<void> {
    if (this.stopping) return this.stopping
    const child = this.child
    this.setState('stopping')
    if (!child) {
      this.setState('stopped')
      this.stopping = Promise.resolve()
      return this.stopping
    }
    this.stopping = new Promise((resolve) => {
      this.exited = resolve
      child.postMessage({ type: 'stop' })
      this.killLater(child, timeoutMs)
    })
    return this.stopping
  }

  private setState(state: PeerState, detail?: string): void {
    this.current = state
    this.deps.onState(state, detail)
  }

  private async spawn(): Promise<void> {
    this.setState('starting')
    this.fatalAtStart = null
    let config: Awaited<ReturnType<typeof this.deps.startConfig>>
    try {
      config = await this.deps.startConfig()
    } catch (err) {
      this.setState('failed', `Could not prepare the peer's start: ${(err as Error).message}`)
      return
    }
    if (this.current !== 'starting') return // stopped while reading the config
    const child = this.deps.fork()
    this.child = child
    pipeLines(child.stdout, (line) => this.deps.onLog('info', line))
    pipeLines(child.stderr, (line) => this.deps.onLog('warn', line))
    child.on('message', (raw) => {
      if (this.child === child) this.onMessage(child, raw)
    })
    child.on('exit', (code) => {
      if (this.child === child) this.onExit(code)
    })
    child.postMessage({ type: 'start', config })
  }

  private onMessage(child: ChildProcessLike, raw: unknown): void {
    const msg = parsePeerMessage(raw)
    if (!msg) {
      this.deps.onLog('warn', `peer sent an unknown message: ${describe(raw)}`)
      return
    }
    switch (msg.type) {
      case 'log':
        this.deps.onLog(msg.level, msg.message)
        return
      case 'device-key':
        this.onDeviceKey(child, msg.key)
        return
      case 'ready':
        this.deps.onLog('info', `peer ready as ${msg.deviceId}`)
        if (this.current === 'starting') this.setState('ready')
        return
      case 'fatal':
        if (this.current === 'starting') this.fatalAtStart = msg.message
        this.deps.onLog('error', `peer: ${msg.message}`)
        this.killLater(child, this.deps.fatalGraceMs ?? 5000)
    }
  }

  /**
   * The peer hands its key over once, while it starts (a new key, or one moved out of its database).
   * Any other key message would overwrite the kept key, losing the identity: a confused peer must
   * not be able to do that. The answer comes only after the key is sealed and written: until then
   * the peer neither uses the key nor keeps it anywhere, so a failure or crash loses no identity.
   */
  private onDeviceKey(child: ChildProcessLike, key: Uint8Array): void {
    if (this.current !== 'starting' || this.keyFrom === child) {
      this.deps.onLog('warn', 'peer sent a device key outside its start, or a second one: ignored')
      return
    }
    this.keyFrom = child
    Promise.resolve()
      .then(() => this.deps.onDeviceKey(key))
      .then(
        () => {
          if (this.child === child) child.postMessage({ type: 'device-key-saved' })
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err)
          this.deps.onLog('error', `could not keep the device key: ${message}`)
          if (this.child === child) child.postMessage({ type: 'device-key-failed', message })
        },
      )
  }

  private killLater(child: ChildProcessLike, ms: number): void {
    if (this.killTimer !== null) return
    this.killTimer = this.setTimer(() => {
      this.killTimer = null
      if (this.child === child) child.kill()
    }, ms)
  }

  private onExit(code: number): void {
    this.child = null
    if (this.killTimer !== null) this.clearTimer(this.killTimer)
    this.killTimer = null
    if (this.current === 'stopping') {
      this.setState('stopped')
      this.exited?.()
      this.exited = null
      return
    }
    // A peer that could not start (profile locked, database damaged) would fail the same way
    // again: tell the person instead of restarting. A crash after a good start is restarted.
    if (this.fatalAtStart !== null) {
      this.setState('failed', this.fatalAtStart)
      return
    }
    const now = this.now()
    const decision = decideRestart(this.restartTimes, now, this.deps.policy ?? DEFAULT_RESTART_POLICY)
    if (decision.action === 'give-up') {
      this.setState('failed', `The peer stopped unexpectedly ${decision.restartsInWindow + 1} times in a minute (last exit code ${code}).`)
      return
    }
    this.restartTimes = [...pruneRestartTimes(this.restartTimes, now, this.deps.policy), now]
    this.setState('restarting', `The peer stopped unexpectedly (exit code ${code}); restarting (attempt ${decision.attempt}).`)
    this.setTimer(() => {
      if (this.current === 'restarting') void this.spawn()
    }, decision.delayMs)
  }
}

function describe(raw: unknown): string {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined
  return typeof type === 'string' ? `type "${type.slice(0, 40)}"` : typeof raw
}

/** Calls `onLine` for each line of a child's output (a crash prints its stack trace there). */
function pipeLines(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return
  let rest = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    rest = (lines.pop() ?? '').slice(-8192)
    for (const line of lines) if (line.trim()) onLine(line.slice(0, 8192))
  })
  stream.on('end', () => {
    if (rest.trim()) onLine(rest)
  })
}
