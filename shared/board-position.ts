/**
 * Order keys for a board's cards and columns (fractional indexing): strings over 62 digits in ASCII
 * order, compared as plain strings, never ending in the lowest digit, so a key exists between any two
 * different keys and before any key. Moving an item writes one key, its own: concurrent moves of
 * different items never touch each other's keys. Two peers inserting at the same place make the same
 * key; readers then order them by id (see shared/board.ts), and the next insert between them re-keys.
 *
 * After the algorithm of David Greenspan's "Implementing Fractional Indexing" (the midpoint), with
 * appends and prepends stepping one digit instead of halving, so a column grown at one end keeps short
 * keys (a character per ~30 appends).
 */
import { MAX_POSITION_CHARS } from './limits.ts'

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE = DIGITS.length
const VALID = /^[0-9A-Za-z]*[1-9A-Za-z]$/

/** Whether `key` is an order key this version reads (network input is checked with this). */
export function isPositionKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_POSITION_CHARS && VALID.test(key)
}

const digit = (c: string): number => DIGITS.indexOf(c)

/**
 * A key strictly between `a` and `b` (null: no bound on that side). Throws unless both are valid keys
 * and `a < b`: the caller re-keys (`spreadKeys`) when neighbours tie or are not valid.
 */
export function keyBetween(a: string | null, b: string | null): string {
  if (a !== null && !isPositionKey(a)) throw new RangeError(`not an order key: ${JSON.stringify(a).slice(0, 40)}`)
  if (b !== null && !isPositionKey(b)) throw new RangeError(`not an order key: ${JSON.stringify(b).slice(0, 40)}`)
  if (a !== null && b !== null && a >= b) throw new RangeError(`keys out of order: ${a} >= ${b}`)
  if (a === null && b === null) return DIGITS[BASE >> 1]!
  if (b === null) return after(a!)
  if (a === null) return before(b)
  return midpoint(a, b)
}

/** The shortest key above `a` found by raising one digit. */
function after(a: string): string {
  for (let i = 0; i < a.length; i++) {
    const d = digit(a[i]!)
    if (d < BASE - 1) return a.slice(0, i) + DIGITS[d + 1]
  }
  return a + DIGITS[BASE >> 1]
}

/** A key below `b` found by lowering one digit (never to the lowest, which may not end a key). */
function before(b: string): string {
  for (let i = 0; i < b.length; i++) {
    const d = digit(b[i]!)
    if (d > 1) return b.slice(0, i) + DIGITS[d - 1]
  }
  // Only 0s and 1s, ending in a 1: lower that 1 to 0 and go on from the middle.
  return `${b.slice(0, -1)}0${DIGITS[BASE >> 1]}`
}

/** Between `a` and `b` (`a` may be '' for zero, `b` null for one), `a < b`. */
function midpoint(a: string, b: string | null): string {
  if (b !== null) {
    let n = 0
    while ((a[n] ?? '0') === b[n]) n++
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(n), b.slice(n))
  }
  const da = a ? digit(a[0]!) : 0
  const db = b !== null ? digit(b[0]!) : BASE
  if (db - da > 1) return DIGITS[Math.round((da + db) / 2)]!
  if (b !== null && b.length > 1) return b.slice(0, 1)
  return DIGITS[da] + midpoint(a.slice(1), null)
}

/** `n` ascending keys spread evenly, all of one short length: for re-keying a whole list. */
export function spreadKeys(n: number): string[] {
  let width = 1
  while (BASE ** width <= n) width++
  const span = BASE ** width
  const keys: string[] = []
  for (let i = 1; i <= n; i++) {
    let v = Math.floor((i * span) / (n + 1))
    let s = ''
    for (let w = 0; w < width; w++) {
      s = DIGITS[v % BASE] + s
      v = Math.floor(v / BASE)
    }
    // A shorter key is a prefix of the padded one and sorts where it did.
    keys.push(s.replace(/0+$/, ''))
  }
  return keys
}
