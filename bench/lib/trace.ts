/**
 * The editing trace of the automerge-paper (259,778 keystrokes; see ../shared/data/editing-traces/README.md):
 * one keystroke per transaction, each [position, deleteCount, insertText] applied like Array.prototype.splice.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const TRACE_PATH = process.env['BENCH_TRACE'] ??
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'editing-traces', 'automerge-paper.json.gz')

export type Keystroke = [pos: number, del: number, ins: string]

export interface Trace { keys: Keystroke[]; endContent: string }

let cached: Trace | null = null

export function loadTrace(): Trace {
  if (cached) return cached
  const raw = JSON.parse(gunzipSync(readFileSync(TRACE_PATH)).toString('utf8')) as {
    startContent: string; endContent: string; txns: { patches: Keystroke[] }[]
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
