/**
 * The messages between main and the peer's utilityProcess over its parentPort (structured clone).
 * The peer's side is `main/peer/host/utility.ts`; main validates what it receives all the same,
 * because a confused peer must not be able to confuse main.
 */

export type PeerLogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface PeerStartConfig {
  profileDir: string
  name?: string
  /** The key main keeps (device-key.ts); absent on first run, when the peer makes one. */
  deviceKey?: Uint8Array
  /** Defaults: every interface and mDNS, as a LAN app needs; tests keep the peer on loopback. */
  host?: string
  mdns?: boolean
}

/** What main sends. `connect` carries one MessagePortMain in the transfer list. */
export type MainToPeer =
  | { type: 'start'; config: PeerStartConfig }
  | { type: 'connect' }
  | { type: 'stop' }
  /** The key from `device-key` is sealed and written: the peer may use it (it keeps no copy). */
  | { type: 'device-key-saved' }
  /** The key from `device-key` could not be kept: the peer must not start with it. */
  | { type: 'device-key-failed'; message: string }

/** What the peer sends. */
export type PeerToMain =
  | { type: 'device-key'; key: Uint8Array }
  | { type: 'ready'; deviceId: string }
  | { type: 'log'; level: PeerLogLevel; message: string }
  | { type: 'fatal'; message: string }

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error'])
/** A log line or error longer than this is cut: the log file is for people. */
export const MAX_PEER_TEXT = 8192
/** An Ed25519 private key protobuf is 68 bytes; anything near this cap is not a key. */
const MAX_KEY_BYTES = 1024

const text = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, MAX_PEER_TEXT) : null)

/** The message, typed, or null if it is not one the contract knows. */
export function parsePeerMessage(raw: unknown): PeerToMain | null {
  if (typeof raw !== 'object' || raw === null) return null
  const m = raw as Record<string, unknown>
  switch (m['type']) {
    case 'device-key': {
      const key = m['key']
      return key instanceof Uint8Array && key.byteLength > 0 && key.byteLength <= MAX_KEY_BYTES ? { type: 'device-key', key } : null
    }
    case 'ready': {
      const deviceId = m['deviceId']
      return typeof deviceId === 'string' && deviceId.length > 0 && deviceId.length <= 256 ? { type: 'ready', deviceId } : null
    }
    case 'log': {
      const message = text(m['message'])
      const level = m['level']
      return message !== null && typeof level === 'string' && LEVELS.has(level)
        ? { type: 'log', level: level as PeerLogLevel, message }
        : null
    }
    case 'fatal': {
      const message = text(m['message'])
      return message !== null ? { type: 'fatal', message } : null
    }
    default:
      return null
  }
}
