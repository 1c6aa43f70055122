/**
 * Delivery receipts in words, the same in the app (the document's status, the teammates panel) and the
 * CLI's `doc status`: "Bob has your edits as of 14:02 (22:02 his time); 3 newer changes have not reached
 * him", "Cat has none of your edits yet; not online since 09:12". Times are written by `clock` (the
 * reader's zone; the CLI's UTC) and, where the teammate said their offset, in theirs too.
 */
import type { Receipt } from './types.ts'

const MINUTE = 60_000

/** "22:02" where the teammate is. */
export function theirClock(at: number, offsetMinutes: number): string {
  const t = new Date(at + offsetMinutes * MINUTE)
  return `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`
}

/**
 * `ownOffsetMinutes`: the reader's offset from UTC, when known; a teammate in the same zone gets no
 * second time.
 */
export function receiptText(r: Receipt, lastOwnEditAt: number | null, clock: (at: number) => string, ownOffsetMinutes?: number): string {
  const other = r.utcOffsetMinutes !== null && r.utcOffsetMinutes !== ownOffsetMinutes ? r.utcOffsetMinutes : null
  const at = (ms: number): string => `${clock(ms)}${other === null ? '' : ` (${theirClock(ms, other)} their time)`}`
  const away = r.online ? '' : r.lastSeen ? `; not online since ${clock(r.lastSeen)}` : '; not seen online yet'
  const changes = (n: number): string => (n === 1 ? '1 newer change has' : `${n} newer changes have`)
  // Nothing of this device's to deliver: what is left to say is whether they are current.
  if (lastOwnEditAt === null) return `${r.name} ${r.upToDate ? 'has every change' : 'does not have every change yet'}${away}`
  if (r.upToDate || r.lacking === 0) return `${r.name} has your latest edit, of ${at(lastOwnEditAt)}${away}`
  if (r.yourEditsAsOf !== null)
    return `${r.name} has your edits as of ${at(r.yourEditsAsOf)}; ${changes(r.lacking)} not reached them${away}`
  return `${r.name} has none of your edits yet${away}`
}
