/**
 * A document's editing sessions in words, the same in the app's history panel and the CLI's `doc history`:
 * "Ben · 14:02–14:40 (22:02–22:40 his time) · +120 −4 · renamed". Times are written by `clock` (the
 * reader's zone; the CLI's UTC) and, where the author's offset is known and differs, in theirs too.
 */
import { theirClock } from './receipt-text.ts'
import type { HistorySession } from './types.ts'

/** When the session was, in the reader's zone and, if known and different, the author's. */
export function sessionTime(s: HistorySession, clock: (at: number) => string, ownOffsetMinutes?: number): string {
  const sameMinute = Math.floor(s.startedAt / 60_000) === Math.floor(s.endedAt / 60_000)
  const mine = sameMinute ? clock(s.endedAt) : `${clock(s.startedAt)}–${clock(s.endedAt).replace(/^\d{4}-\d\d-\d\d /, '')}`
  const offset = s.authorUtcOffsetMinutes
  if (s.own || offset === null || offset === ownOffsetMinutes) return mine
  const theirs = sameMinute ? theirClock(s.endedAt, offset) : `${theirClock(s.startedAt, offset)}–${theirClock(s.endedAt, offset)}`
  return `${mine} (${theirs} their time)`
}

/** What the session did: "+120 −4", "renamed", "no text changed". */
export function sessionChanges(s: HistorySession): string {
  const parts: string[] = []
  if (s.inserted || s.deleted) parts.push(`+${s.inserted} −${s.deleted}`)
  // A board's changes are to cards and columns, not to a text: counted as changes (less the rename).
  else if (s.changes > Number(s.retitled)) {
    const n = s.changes - Number(s.retitled)
    parts.push(`${n} change${n === 1 ? '' : 's'}`)
  }
  if (s.retitled) parts.push('renamed')
  return parts.length ? parts.join(' · ') : 'no text changed'
}

/** One line of the timeline. */
export function sessionText(s: HistorySession, clock: (at: number) => string, ownOffsetMinutes?: number): string {
  return `${s.own ? 'You' : s.authorName} · ${sessionTime(s, clock, ownOffsetMinutes)} · ${sessionChanges(s)}`
}
