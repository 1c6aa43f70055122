/**
 * One face for a collaborator of any system (Grapevine replica, automerge-repo handle, Yjs doc):
 * type one keystroke as one local edit, read the text, hear about remote changes. The commands
 * below (used by every worker) type timed plans and record when remote keystrokes became visible,
 * on the machine-wide monotonic clock, so that times from different processes compare directly.
 */
import { now } from './stats.ts'
import { sleep, until, type Handlers } from './serve.ts'
import { loadTrace } from './trace.ts'

export interface TextPeer {
  /** Inserts `text` at `pos` (and deletes `del` characters there) as one local edit. */
  splice(pos: number, del: number, text: string): void
  length(): number
  text(): string
  /** `cb` runs after remote changes were applied to this collaborator's copy. */
  onRemote(cb: () => void): void
  /** Makes one local change (transaction) out of every splice `fn` applies. */
  frame(fn: (splice: (pos: number, del: number, text: string) => void) => void): void
  /** Resolves when every local edit has been handed to the network (and, for Grapevine, acknowledged). */
  drain?(): Promise<void>
}

/** One phase of typing: `keys` keystrokes `intervalMs` apart (0: back to back, yielding between keys). */
export interface Phase {
  keys: number
  intervalMs: number
}

/** The character of the k-th keystroke of a run: letters with a space every 8. */
export const keyChar = (k: number): string => (k % 8 === 7 ? ' ' : String.fromCharCode(97 + (k % 26)))

export function textPeerHandlers(get: () => TextPeer): Handlers {
  let base = 0
  let seen = 0
  let arrivals: number[] = []
  let watching = false
  let typed = 0
  const record = (): void => {
    if (!watching) return
    const n = get().length() - base
    const t = now()
    while (seen < n) arrivals[seen++] = t
  }
  let hooked = false
  let finalAt = NaN
  let finalHooked = false
  let finalCheck = (): void => {}
  return {
    /** Starts recording when each keystroke after the current text becomes visible here. */
    watch() {
      const p = get()
      if (!hooked) {
        p.onRemote(record)
        hooked = true
      }
      base = p.length()
      seen = 0
      typed = 0
      arrivals = []
      watching = true
      return base
    },
    /** Types the plan (appending at the end, as a person typing) and returns each keystroke's time. */
    async type({ phases }: { phases: Phase[] }) {
      const p = get()
      const times: number[] = []
      for (const ph of phases) {
        const start = now()
        for (let i = 0; i < ph.keys; i++) {
          // Steady typing keeps to its schedule (a late timer does not shift the keys after it).
          if (ph.intervalMs > 0) await sleep(Math.max(0, start + i * ph.intervalMs - now()))
          else await new Promise<void>((r) => setImmediate(r))
          times.push(now())
          p.splice(p.length(), 0, keyChar(typed++))
        }
      }
      await p.drain?.()
      return times
    },
    /**
     * Types the first `limit` keystrokes of the editing trace as fast as it can, in frames: every
     * keystroke typed within `frameMs` of the frame's start goes into one local change, then the
     * event loop runs (the system sends) before the next frame. Resolves when the last frame is
     * made, and again (`drainedAt`) when the system has taken all of it (Grapevine: acknowledged as durable).
     */
    async replay({ limit, frameMs }: { limit: number; frameMs: number }) {
      const p = get()
      const keys = loadTrace().keys.slice(0, limit)
      let k = 0
      /** Keystrokes per frame, in order: the W4 floor replays exactly these frames. */
      const sizes: number[] = []
      const start = now()
      while (k < keys.length) {
        const fs = now()
        const from = k
        p.frame((splice) => {
          do {
            const [pos, del, ins] = keys[k++]!
            splice(pos, del, ins)
          } while (k < keys.length && now() - fs < frameMs)
        })
        sizes.push(k - from)
        await new Promise<void>((r) => setImmediate(r))
      }
      const typedAt = now()
      await p.drain?.()
      return { keys: k, frames: sizes.length, sizes, start, typedAt, drainedAt: now() }
    },
    /** Records when this collaborator's text first equals `text` (checked after every remote change). */
    watchFinal({ text: target }: { text: string }) {
      const p = get()
      finalAt = NaN
      const check = (): void => {
        if (Number.isNaN(finalAt) && p.length() === target.length && p.text() === target) finalAt = now()
      }
      if (!finalHooked) {
        p.onRemote(() => finalCheck())
        finalHooked = true
      }
      finalCheck = check
      check()
      return null
    },
    async finalAt({ timeoutMs }: { timeoutMs: number }) {
      await until('the final text', () => !Number.isNaN(finalAt), timeoutMs, 20)
      return finalAt
    },
    /** Arrival times of the keystrokes since `watch` (undefined for those not seen yet). */
    arrivals() {
      return arrivals
    },
    seen() {
      return seen
    },
    length() {
      return get().length()
    },
    text() {
      return get().text()
    },
    async waitLength({ length, timeoutMs }: { length: number; timeoutMs?: number }) {
      await until(`text of length ${length} (have ${get().length()})`, () => get().length() >= length, timeoutMs ?? 30_000)
      return get().length()
    },
  }
}
