/**
 * The words for who has a workspace's content key, written once for the app and the CLI: after a
 * removal, "2 of 4 teammates have the new key; Cat (offline since 09:12) may still be using the old one".
 */
import type { KeyStatus } from './types.ts'

/**
 * One line about `s`. `clock` formats a time in the caller's locale and zone ("09:12"; a date too
 * when it is not today): it only says since when a waiting teammate has been offline.
 */
export function describeKeyStatus(s: KeyStatus, clock: (at: number) => string): string {
  if (s.epochId === null) return 'no content key yet: an admin’s peer makes one when it is next online'
  // After a removal (a leave, a demotion to keeper) the key is new, and whoever has not got it yet
  // may seal with the old one, which the dropped device holds; otherwise someone is just behind.
  const renewed = s.dropped.length > 0
  const key = `the ${renewed ? 'new' : 'current'} key`
  if (s.waiting.length === 0) return s.readers === 1 ? `1 teammate has ${key}` : `all ${s.readers} teammates have ${key}`
  const who = s.waiting.map((w) => {
    if (w.online) return `${w.name} (online, not synced yet)`
    return w.lastSeen === null ? `${w.name} (never seen)` : `${w.name} (offline since ${clock(w.lastSeen)})`
  })
  const has = `${s.confirmed} of ${s.readers} teammates ${s.confirmed === 1 ? 'has' : 'have'} ${key}`
  const tail = renewed
    ? 'may still be using the old one'
    : s.waiting.every((w) => !w.online)
      ? 'should get it when next online'
      : 'should get it on the next sync'
  return `${has}; ${listOf(who)} ${tail}`
}

/**
 * Why the waiting matters, or null when nothing waits on a new key: what a teammate who has not got
 * it yet writes can still be read by the devices the key was changed for.
 */
export function keyStatusRisk(s: KeyStatus): string | null {
  if (s.dropped.length === 0 || s.waiting.length === 0) return null
  const dropped = listOf(s.dropped.map((d) => d.name))
  return `until they have it, what they write could still be read by ${dropped}`
}

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}
