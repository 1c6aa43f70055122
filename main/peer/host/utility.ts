/**
 * The peer's entry in the desktop app: runs in an Electron utilityProcess, spawned by main.
 * It talks to main over `process.parentPort` (start, connect, stop; device-key, ready, log, fatal)
 * and serves the client protocol on every MessagePort main hands it (one per window, one for main).
 * It does not import 'electron': the few Electron shapes it needs are declared here.
 */
import { z } from 'zod'
import { serveRpc } from '../../../shared/rpc.ts'
import { portChannel, type EmitterPort } from '../../../shared/port-channel.ts'
import { createPeer, type Peer } from '../peer.ts'
import type { LogLevel } from '../log.ts'
import { survivesUncaught } from '../net/failure.ts'

interface ParentPort {
  /** The ports are Electron's MessagePortMain. */
  on(event: 'message', listener: (e: { data: unknown; ports: EmitterPort[] }) => void): void
  postMessage(message: unknown): void
}

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array)
const fromMain = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    config: z.object({
      profileDir: z.string().min(1).max(4096),
      name: z.string().max(64).optional(),
      deviceKey: bytes.optional(),
      /** The app listens on every interface and uses mDNS, as a LAN app must; tests keep it on loopback. */
      host: z.string().max(64).optional(),
      mdns: z.boolean().optional(),
    }),
  }),
  z.object({ type: z.literal('connect') }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('device-key-saved') }),
  z.object({ type: z.literal('device-key-failed'), message: z.string().max(8192) }),
])

/** How long the peer waits for main to seal and write its key before it gives up starting. */
const KEY_HAND_OVER_TIMEOUT_MS = 30_000

export type FromMain = z.infer<typeof fromMain>
export type ToMain =
  | { type: 'ready'; deviceId: string }
  | { type: 'device-key'; key: Uint8Array }
  | { type: 'log'; level: LogLevel; message: string }
  | { type: 'fatal'; message: string }

/** Runs the host on `parent`; exported so that a test can drive it with a fake parent port. */
export function runHost(parent: ParentPort, exit: (code: number) => void): void {
  const send = (m: ToMain): void => parent.postMessage(m)
  const log = (level: LogLevel, message: string): void => send({ type: 'log', level, message })
  let peer: Peer | null = null
  let starting: Promise<Peer> | null = null
  const waiting: EmitterPort[] = []
  /** Settles the pending key hand-over: main's answer, once it sealed and wrote the key (or could not). */
  let keyAnswer = (_failure?: string): void => {}
  const serve = (p: Peer, port: EmitterPort): void => {
    // A window that sends anything but frames is broken or hostile: its port is closed.
    serveRpc(portChannel(port, { nonFrames: 'close' }), p.connect(), (why) => log('warn', `client port: ${why}`))
  }
  parent.on('message', (e) => {
    const parsed = fromMain.safeParse(e.data)
    if (!parsed.success) return log('warn', 'ignored a malformed message from main')
    const m = parsed.data
    if (m.type === 'start' && !starting) {
      const { profileDir, name, deviceKey, host, mdns } = m.config
      starting = createPeer({
        profileDir,
        name,
        host: host ?? '0.0.0.0',
        mdns: mdns ?? true,
        log,
        // Ready once the profile is open: the window lists and opens documents while the network starts.
        awaitNetwork: false,
        // The key is main's to keep: the peer goes on (and uses the key) only once main said it is
        // sealed and on disk. Without that answer the start fails, and nothing kept the key here.
        keyVault: {
          load: () => deviceKey,
          save: (key) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => {
                keyAnswer = () => {}
                reject(new Error(`main did not confirm it kept the key within ${KEY_HAND_OVER_TIMEOUT_MS / 1000} s`))
              }, KEY_HAND_OVER_TIMEOUT_MS)
              keyAnswer = (failure) => {
                keyAnswer = () => {}
                clearTimeout(timer)
                if (failure === undefined) resolve()
                else reject(new Error(failure))
              }
              send({ type: 'device-key', key })
            }),
        },
      })
      starting.then(
        (p) => {
          peer = p
          send({ type: 'ready', deviceId: p.device.deviceId })
          for (const port of waiting.splice(0)) serve(p, port)
          // A network that cannot start ends the peer as a failed start would (main restarts it).
          p.online.catch((err: Error) => {
            send({ type: 'fatal', message: `the network could not start: ${err.message}` })
            void p.stop().finally(() => exit(1))
          })
        },
        (err: Error) => {
          send({ type: 'fatal', message: err.message })
          exit(1)
        },
      )
    } else if (m.type === 'connect') {
      for (const port of e.ports) peer ? serve(peer, port) : waiting.push(port)
    } else if (m.type === 'device-key-saved') {
      keyAnswer()
    } else if (m.type === 'device-key-failed') {
      keyAnswer(m.message)
    } else if (m.type === 'stop') {
      void Promise.resolve(peer?.stop()).finally(() => exit(0))
    }
  })
}

/**
 * What the peer's process does with an error thrown outside any call: libp2p's use of a closed stream is
 * logged and survived (net/failure.ts); anything else is reported to main as fatal and ends the process.
 */
export function onUncaught(err: Error, parent: ParentPort, exit: (code: number) => void): void {
  if (survivesUncaught(err, (level, message) => parent.postMessage({ type: 'log', level, message } satisfies ToMain))) return
  parent.postMessage({ type: 'fatal', message: err.stack ?? err.message } satisfies ToMain)
  exit(1)
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
if (parentPort) {
  process.on('uncaughtException', (err) => onUncaught(err, parentPort, (code) => process.exit(code)))
  runHost(parentPort, (code) => process.exit(code))
}
