/**
 * A stand-in for the 'electron' module as a window's preload sees it (`contextBridge`, `ipcRenderer`), for
 * main/preload.test.ts: what the preload registers, sends and exposes goes to `globalThis.__fakePreloadElectron`,
 * which the test sets before it loads the preload.
 */
type Listener = (event: { ports: unknown[] }, ...args: unknown[]) => void

export interface FakePreloadElectron {
  /** IPC channels the preload listens on, and its listener. */
  listeners: Map<string, Listener>
  /** Channels it sent on, in order. */
  sent: string[]
  /** What it exposed to the page, by key. */
  exposed: Map<string, unknown>
}

const fake = (globalThis as { __fakePreloadElectron?: FakePreloadElectron }).__fakePreloadElectron!

export const ipcRenderer = {
  on(channel: string, listener: Listener): void {
    fake.listeners.set(channel, listener)
  },
  send(channel: string): void {
    fake.sent.push(channel)
  },
}

export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    fake.exposed.set(key, api)
  },
}
