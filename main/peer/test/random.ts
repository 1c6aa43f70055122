/**
 * A seeded random source for tests, so a failure seen once can be replayed: every random choice a
 * test makes goes through it, and the seed is printed (`seed=…`). GRAPEVINE_SEED replays a run.
 */
import { randomInt } from 'node:crypto'

export interface Random {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** An integer in [min, max]. */
  between(min: number, max: number): number
  pick<T>(xs: readonly T[]): T
  /** `n` characters of [a-z0-9], for text that does not compress. */
  text(n: number): string
  /**
   * An independent source derived from this one, for one of several concurrent actors: each actor's choices
   * then depend on the seed and on its own past only, not on how the actors interleaved.
   */
  fork(): Random
}

/** mulberry32: 32 bits of state, fast, and good enough to pick positions and delays (not for keys). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed from GRAPEVINE_SEED, or a fresh one; refuses a value that is not a 32-bit unsigned integer. */
export function testSeed(): number {
  const given = process.env['GRAPEVINE_SEED']
  if (given === undefined || given === '') return randomInt(2 ** 32 - 1)
  const n = Number(given)
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`GRAPEVINE_SEED must be an integer in [0, 2^32), got '${given}'`)
  return n
}

/** A seeded source; prints `seed=<n> (<label>)` so the run can be replayed with GRAPEVINE_SEED=<n>. */
export function seededRandom(label: string, seed = testSeed()): Random {
  console.log(`seed=${seed} (${label}; replay with GRAPEVINE_SEED=${seed})`)
  return source(seed)
}

function source(seed: number): Random {
  const next = mulberry32(seed)
  const int = (n: number): number => Math.floor(next() * n)
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return {
    seed,
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    pick: <T>(xs: readonly T[]): T => {
      if (xs.length === 0) throw new Error('pick from an empty list')
      return xs[int(xs.length)]!
    },
    text: (n) => {
      let s = ''
      for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)]
      return s
    },
    fork: () => source(int(2 ** 32)),
  }
}
