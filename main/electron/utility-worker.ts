/**
 * Runs the bundled peer entry (out/peer/utility.js) in a Node worker thread as Electron would run
 * it in a utilityProcess: `process.parentPort` delivers `{ data, ports }` events, and ports behave
 * like MessagePortMain. For main/peer-host.test.ts, which has no Electron binary to hand.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'

/** Node's MessagePort shaped like Electron's MessagePortMain (`{ data }` message events). */
export const asPortMain = (p: MessagePort) => ({
  on(event: 'message' | 'close', listener: (e: { data: unknown }) => void) {
    p.on(event, (data: unknown) => (event === 'message' ? listener({ data }) : (listener as () => void)()))
  },
  postMessage: (m: unknown) => p.postMessage(m),
  start: () => p.start(),
  close: () => p.close(),
})

if (parentPort) {
  const port = parentPort
  type HostEvent = { data: unknown; ports: ReturnType<typeof asPortMain>[] }
  const listeners: Array<(e: HostEvent) => void> = []
  const early: HostEvent[] = []
  ;(process as unknown as { parentPort: unknown }).parentPort = {
    on: (_event: 'message', l: (e: HostEvent) => void) => {
      listeners.push(l)
      for (const e of early.splice(0)) l(e)
    },
    postMessage: (m: unknown) => port.postMessage(m),
  }
  port.on('message', ({ msg, ports }: { msg: unknown; ports?: MessagePort[] }) => {
    const e = { data: msg, ports: (ports ?? []).map(asPortMain) }
    if (listeners.length === 0) early.push(e)
    for (const l of listeners) l(e)
  })
  await import(pathToFileURL((workerData as { entry: string }).entry).href)
}
