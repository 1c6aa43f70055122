/** Small statistics for benchmark samples: percentiles, median and spread of repetitions, formatting. */

/** Milliseconds on the machine-wide monotonic clock (CLOCK_MONOTONIC): comparable across processes. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** The p-th percentile (0–100) by linear interpolation between closest ranks. NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const rank = (p / 100) * (s.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo)
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50)
}

export interface Summary {
  n: number
  p50: number
  p99: number
  max: number
  min: number
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
    max: xs.length ? Math.max(...xs) : NaN,
    min: xs.length ? Math.min(...xs) : NaN,
  }
}

/** A value measured once per repetition: its median and the range over repetitions. */
export interface Repeated {
  median: number
  min: number
  max: number
  n: number
}

export function repeated(xs: readonly number[]): Repeated {
  const ok = xs.filter((x) => Number.isFinite(x))
  return { median: median(ok), min: ok.length ? Math.min(...ok) : NaN, max: ok.length ? Math.max(...ok) : NaN, n: ok.length }
}

/** A number with about three significant digits, thousands separated. */
export function fmt(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return '–'
  const a = Math.abs(x)
  const s = a >= 100 ? Math.round(x).toLocaleString('en-US') : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : a === 0 ? '0' : x.toFixed(3)
  return unit ? `${s} ${unit}` : s
}

/** "median (min–max)" of repetitions; just the value when there was one repetition. */
export function fmtRep(r: Repeated, unit = ''): string {
  if (r.n <= 1 || r.min === r.max) return fmt(r.median, unit)
  return `${fmt(r.median, unit)} (${fmt(r.min)}–${fmt(r.max)})`
}

/** Grapevine ÷ anchor, as "0.42×"; below 1 Grapevine is faster (or smaller) on a lower-is-better metric. */
export function ratio(grapevine: number, anchor: number): string {
  if (!Number.isFinite(grapevine) || !Number.isFinite(anchor) || anchor === 0) return '–'
  const r = grapevine / anchor
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r >= 0.01 ? r.toFixed(2) : r.toPrecision(2)}×`
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
