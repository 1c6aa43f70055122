/**
 * An editing trace: by default the automerge-paper's (259,778 keystrokes, CC BY 4.0; see bench/data/README.md),
 * carried by the project; `BENCH_TRACE` may point at another trace of the same format. One keystroke per
 * transaction, each [position, deleteCount, insertText] applied like Array.prototype.splice.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { basename } from 'node:path'

export const TRACE_PATH = process.env['BENCH_TRACE'] ?? fileURLToPath(new URL('../data/automerge-paper.json.gz', import.meta.url))

/** The trace's name as tables show it: its file name without `.json.gz` (e.g. `automerge-paper`). */
export const TRACE_NAME = basename(TRACE_PATH).replace(/\.json(\.gz)?$/, '')

export type Keystroke = [pos: number, del: number, ins: string]

export interface Trace {
  keys: Keystroke[]
  endContent: string
}

let cached: Trace | null = null

export function loadTrace(): Trace {
  if (cached) return cached
  const raw = JSON.parse(gunzipSync(readFileSync(TRACE_PATH)).toString('utf8')) as {
    startContent: string
    endContent: string
    txns: { patches: Keystroke[] }[]
  }
  if (raw.startContent !== '') throw new Error('the trace is expected to start from an empty text')
  cached = { keys: raw.txns.flatMap((t) => t.patches), endContent: raw.endContent }
  return cached
}

/** The text after the first `n` keystrokes (plain string splicing; the trace is ASCII). */
export function textAfter(n: number): string {
  const t = loadTrace()
  if (n >= t.keys.length) return t.endContent
  let s = ''
  for (let i = 0; i < n; i++) {
    const [pos, del, ins] = t.keys[i]!
    s = s.slice(0, pos) + ins + s.slice(pos + del)
  }
  return s
}
