/** Times and states in plain words. Pure: `now` is passed in so tests can pin it. */
import type { DocSyncStatus } from '../../../shared/types.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", or a date. */
const formats = new Map<string, Intl.DateTimeFormat>()

/**
 * The date format for `opts` in the user's locale, made once. `toLocaleTimeString` and its kin make a new
 * formatter on every call, which costs about as much as formatting a hundred dates with one: the teammates
 * panel formats a time per teammate on every render, and rendered on every keystroke a teammate typed
 * (W1b's profile: 1.7 ms of a receiving page's keystroke, in software rendering on 2 cores).
 */
export function dateFormat(opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(opts)
  let f = formats.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, opts)
    formats.set(key, f)
  }
  return f
}

export function ago(at: number | null, now: number): string {
  if (at === null) return 'never'
  const d = now - at
  if (d < 45_000) return 'just now'
  if (d < HOUR) return `${Math.round(d / MINUTE)} min ago`
  if (d < DAY) return `${Math.round(d / HOUR)} h ago`
  if (d < 2 * DAY) return 'yesterday'
  if (d < 14 * DAY) return `${Math.floor(d / DAY)} days ago`
  return dateFormat({ year: 'numeric', month: 'short', day: 'numeric' }).format(at)
}

/** "in 23 hours", "in 5 minutes", "expired". */
export function expiresIn(at: number, now: number): string {
  const d = at - now
  if (d <= 0) return 'expired'
  if (d < 90_000) return 'in about a minute'
  if (d < 90 * MINUTE) return `in ${Math.round(d / MINUTE)} minutes`
  if (d < 36 * HOUR) return `in ${Math.round(d / HOUR)} hours`
  return `in ${Math.round(d / DAY)} days`
}

/** "UTC+5:30", "UTC−3", "UTC". */
export function utcOffsetLabel(minutes: number): string {
  if (minutes === 0) return 'UTC'
  const sign = minutes > 0 ? '+' : '−'
  const abs = Math.abs(minutes)
  const h = Math.floor(abs / 60)
  const m = abs % 60
  return `UTC${sign}${h}${m ? `:${String(m).padStart(2, '0')}` : ''}`
}

/** The wall-clock time ("14:05") where a teammate is, given their offset from UTC. */
export function theirLocalTime(utcOffsetMinutes: number, now: number): string {
  const t = new Date(now + utcOffsetMinutes * MINUTE)
  return `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`
}

export type SyncTone = 'saving' | 'local' | 'shared' | 'offline' | 'sending'

/**
 * The open document's sync state in plain words. It never claims more than the peer knows:
 * "on N of M teammates" counts only members known to hold these exact heads or newer.
 */
export function syncStatusText(
  s: DocSyncStatus,
  opts: { unsent: number; teammatesOnline: number; connected?: boolean },
): { text: string; tone: SyncTone } {
  const changes = (n: number): string => `${n} change${n === 1 ? '' : 's'}`
  if (opts.connected === false && opts.unsent > 0) {
    return { text: `Not saved yet — ${opts.unsent} edit${opts.unsent === 1 ? '' : 's'} waiting for the peer`, tone: 'offline' }
  }
  if (opts.unsent > 0 || !s.savedLocally) return { text: 'Saving…', tone: 'saving' }
  if (s.waitingChanges > 0 && opts.teammatesOnline === 0) return { text: `Offline — ${changes(s.waitingChanges)} waiting`, tone: 'offline' }
  if (s.otherMembers === 0) return { text: 'Saved on this device', tone: 'local' }
  if (s.upToDate.length > 0) {
    const up = Math.min(s.upToDate.length, s.otherMembers)
    return { text: `On ${up} of ${s.otherMembers} teammate${s.otherMembers === 1 ? '' : 's'}`, tone: 'shared' }
  }
  if (s.waitingChanges > 0) return { text: `Saved on this device — sending ${changes(s.waitingChanges)}`, tone: 'sending' }
  return { text: 'Saved on this device', tone: 'local' }
}

/** A time on this device's clock: "09:12" today, "4 Mar 09:12" another day (in the user's locale). */
export function clockTime(at: number, now: number): string {
  const d = new Date(at)
  const time = dateFormat({ hour: '2-digit', minute: '2-digit' }).format(d)
  if (d.toDateString() === new Date(now).toDateString()) return time
  return `${dateFormat({ day: 'numeric', month: 'short' }).format(d)} ${time}`
}

/** The sentence `text` begins, with a capital letter (wording shared with the CLI starts in lower case). */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** A document's title as shown: its own, or "Untitled". */
export const displayTitle = (title: string): string => title.trim() || 'Untitled'
