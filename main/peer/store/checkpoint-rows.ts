import { createHash } from 'node:crypto'

/** What checkpoint-crash-writer.ts stores in row `n`: 8 KiB that do not compress, derived from the seed and `n`. */
export function rowValue(seed: number, n: number): Buffer {
  const out = Buffer.alloc(8 * 1024)
  for (let i = 0; i < out.length; i += 32) createHash('sha256').update(`${seed}:${n}:${i}`).digest().copy(out, i)
  return out
}
