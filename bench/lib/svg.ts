/**
 * Tiny SVG charts, written by hand: latency distributions (empirical CDFs, log time axis) in one or
 * more panels, and lines of value against size. No dependencies; the output is a standalone file.
 */

export interface Series {
  name: string
  values: number[]
}
export interface Panel {
  title: string
  series: Series[]
}
export interface LineSeries {
  name: string
  points: [number, number][]
}

const COLORS = ['#2e7d32', '#1565c0', '#6a1b9a', '#ef6c00', '#c62828', '#00838f', '#5d4037', '#757575']
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function niceLogTicks(lo: number, hi: number): number[] {
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v)
    }
  }
  return ticks
}

function niceLinTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1
  const step0 = span / n
  const mag = 10 ** Math.floor(Math.log10(step0))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

/** A byte count for an axis, in decimal units (ticks fall on 1, 2, 5 × 10^n). */
export const axisBytes = (v: number): string => (v >= 1e6 ? `${v / 1e6} MB` : v >= 1e3 ? `${v / 1e3} kB` : `${v} B`)

/** Room for a legend of these names (about 6.2 px per character at 11 px). */
const legendWidth = (names: string[]): number => 40 + Math.max(0, ...names.map((n) => n.length)) * 6.2

const label = (v: number): string => (v >= 1000 ? `${v / 1000}k` : v >= 1 ? String(v) : v.toPrecision(1))

function legend(names: string[], x: number, y: number): string {
  return names
    .map(
      (n, i) =>
        `<rect x="${x}" y="${y + i * 16 - 9}" width="12" height="3" fill="${COLORS[i % COLORS.length]}"/>` +
        `<text x="${x + 18}" y="${y + i * 16 - 4}" font-size="11">${esc(n)}</text>`,
    )
    .join('')
}

/** Empirical CDFs of latencies (ms) on a log axis, one panel per group (e.g. per peer count). */
export function cdfChart(opts: { title: string; xLabel: string; panels: Panel[] }): string {
  const pw = 300
  const ph = 220
  const m = { l: 50, r: 12, t: 46, b: 44 }
  const names0 = [...new Set(opts.panels.flatMap((p) => p.series.map((s) => s.name)))]
  const legendW = legendWidth(names0)
  const W = m.l + opts.panels.length * (pw + m.r + 20) + legendW
  const H = m.t + ph + m.b
  const all = opts.panels.flatMap((p) => p.series.flatMap((s) => s.values)).filter((v) => v > 0 && Number.isFinite(v))
  const lo = Math.max(0.01, Math.min(...all) * 0.8)
  const hi = Math.max(...all) * 1.2
  const xs = (v: number): number => ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw
  const ys = (q: number): number => ph - q * ph
  const names = [...new Set(opts.panels.flatMap((p) => p.series.map((s) => s.name)))]
  let body = ''
  opts.panels.forEach((p, pi) => {
    const ox = m.l + pi * (pw + m.r + 20)
    body += `<g transform="translate(${ox},${m.t})">`
    body += `<rect width="${pw}" height="${ph}" fill="none" stroke="#999"/>`
    for (const t of niceLogTicks(lo, hi)) {
      body += `<line x1="${xs(t)}" x2="${xs(t)}" y1="0" y2="${ph}" stroke="#eee"/><text x="${xs(t)}" y="${ph + 14}" font-size="10" text-anchor="middle">${label(t)}</text>`
    }
    for (const [q, name] of [
      [0, '0'],
      [0.25, 'p25'],
      [0.5, 'p50'],
      [0.75, 'p75'],
      [0.9, 'p90'],
      [0.99, 'p99'],
    ] as const) {
      body += `<line x1="0" x2="${pw}" y1="${ys(q)}" y2="${ys(q)}" stroke="#eee"/>`
      if (pi === 0) body += `<text x="-4" y="${ys(q) + 3}" font-size="10" text-anchor="end">${name}</text>`
    }
    p.series.forEach((s) => {
      const v = s.values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
      if (!v.length) return
      const ci = names.indexOf(s.name)
      // At most ~400 points per line: every quantile step of 1/400, plus the last (the maximum).
      const step = Math.max(1, Math.floor(v.length / 400))
      const idx = v.map((_, i) => i).filter((i) => i % step === 0 || i === v.length - 1)
      const pts = idx.map((i) => `${xs(v[i]!).toFixed(1)},${ys((i + 1) / v.length).toFixed(1)}`)
      body += `<polyline fill="none" stroke="${COLORS[ci % COLORS.length]}" stroke-width="1.6" points="${xs(v[0]!).toFixed(1)},${ph} ${pts.join(' ')}"/>`
    })
    body += `<text x="${pw / 2}" y="-8" font-size="12" text-anchor="middle">${esc(p.title)}</text>`
    body += `<text x="${pw / 2}" y="${ph + 32}" font-size="11" text-anchor="middle">${esc(opts.xLabel)}</text></g>`
  })
  body += legend(names, m.l + opts.panels.length * (pw + m.r + 20), m.t + 10)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/><text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(opts.title)}</text>${body}</svg>\n`
  )
}

/** Lines of y against x (both optionally log), e.g. time to converge against the number of keystrokes. */
export function lineChart(opts: {
  title: string
  xLabel: string
  yLabel: string
  series: LineSeries[]
  logX?: boolean
  logY?: boolean
  yFormat?: (v: number) => string
}): string {
  const pw = 420
  const ph = 240
  const m = { l: 64, r: 20, t: 40, b: 46 }
  const legendW = legendWidth(opts.series.map((s) => s.name))
  const W = m.l + pw + m.r + legendW
  const H = m.t + ph + m.b
  const pts = opts.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const xsv = pts.map((p) => p[0])
  const ysv = pts.map((p) => p[1])
  const [xlo, xhi] = opts.logX ? [Math.min(...xsv) * 0.8, Math.max(...xsv) * 1.25] : [0, Math.max(...xsv) * 1.05]
  const [ylo, yhi] = opts.logY ? [Math.max(1e-3, Math.min(...ysv) * 0.7), Math.max(...ysv) * 1.4] : [0, Math.max(...ysv) * 1.1 || 1]
  const sx = (v: number): number =>
    opts.logX ? ((Math.log10(v) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo))) * pw : ((v - xlo) / (xhi - xlo)) * pw
  const sy = (v: number): number =>
    ph - (opts.logY ? (Math.log10(Math.max(v, ylo)) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo)) : (v - ylo) / (yhi - ylo)) * ph
  let body = `<g transform="translate(${m.l},${m.t})"><rect width="${pw}" height="${ph}" fill="none" stroke="#999"/>`
  for (const t of opts.logX ? niceLogTicks(xlo, xhi) : niceLinTicks(xlo, xhi)) {
    body += `<line x1="${sx(t)}" x2="${sx(t)}" y1="0" y2="${ph}" stroke="#eee"/><text x="${sx(t)}" y="${ph + 14}" font-size="10" text-anchor="middle">${label(t)}</text>`
  }
  for (const t of opts.logY ? niceLogTicks(ylo, yhi) : niceLinTicks(ylo, yhi)) {
    body += `<line x1="0" x2="${pw}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/><text x="-4" y="${sy(t) + 3}" font-size="10" text-anchor="end">${(opts.yFormat ?? label)(t)}</text>`
  }
  opts.series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0])
    const c = COLORS[i % COLORS.length]
    body += `<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`
    for (const [x, y] of p) body += `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${c}"/>`
  })
  body += `<text x="${pw / 2}" y="${ph + 34}" font-size="11" text-anchor="middle">${esc(opts.xLabel)}</text>`
  body += `<text transform="translate(-50,${ph / 2}) rotate(-90)" font-size="11" text-anchor="middle">${esc(opts.yLabel)}</text></g>`
  body += legend(
    opts.series.map((s) => s.name),
    m.l + pw + m.r + 10,
    m.t + 10,
  )
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/><text x="${m.l}" y="22" font-size="14" font-weight="bold">${esc(opts.title)}</text>${body}</svg>\n`
  )
}

/** Several charts (as made above) one under the other in one standalone SVG file. */
export function stackCharts(svgs: string[]): string {
  const size = (svg: string): [number, number] => {
    const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg)
    return m ? [Number(m[1]), Number(m[2])] : [600, 300]
  }
  const sizes = svgs.map(size)
  const W = Math.max(...sizes.map(([w]) => w))
  let y = 0
  let body = ''
  svgs.forEach((svg, i) => {
    // A nested <svg> placed at (0, y): its own width and height stay as they were.
    body += svg.trim().replace(/^<svg /, `<svg x="0" y="${y}" `)
    y += sizes[i]![1]
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${body}</svg>\n`
}
