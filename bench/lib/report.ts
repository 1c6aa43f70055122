/**
 * What a benchmark run produces: one table per workload (printed as text, written as Markdown),
 * SVG charts, notes that explain the numbers, and consistency failures (which fail the run).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Table {
  title: string
  headers: string[]
  rows: string[][]
  /** Lines printed under the table: what was measured, how, and what the columns mean. */
  notes?: string[]
}

export interface Section {
  id: string
  title: string
  tables: Table[]
  /** SVG files written beside latest.md: [file name, svg text, caption]. */
  charts: { file: string; svg: string; caption: string }[]
  /** Paragraphs for the results file: why Grapevine is slower where it is, what would fix it. */
  findings: string[]
}

export class Report {
  readonly sections: Section[] = []
  readonly failures: string[] = []
  /** One line per workload for the top of the results: the number that matters most. */
  readonly headlines: string[] = []
  /** Figures one workload leaves for a later one in the same run (e.g. W1's Grapevine p50 for W1b), by name. */
  readonly figures = new Map<string, number>()

  section(id: string, title: string): Section {
    const s: Section = { id, title, tables: [], charts: [], findings: [] }
    this.sections.push(s)
    return s
  }

  /** A consistency check: records (and prints) a failure when `ok` is false. */
  check(ok: boolean, what: string): boolean {
    if (!ok) {
      this.failures.push(what)
      console.log(`CHECK FAILED: ${what}`)
    }
    return ok
  }
}

const isNumeric = (s: string): boolean => /^[-+−]?[\d–]/.test(s)

export function tableText(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i > 0 && isNumeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out = [`${t.title}`, line(t.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)]
  for (const n of t.notes ?? []) out.push(`  ${n}`)
  return out.join('\n')
}

export function tableMarkdown(t: Table): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|')
  const out = [
    `**${t.title}**`,
    '',
    `| ${t.headers.map(esc).join(' | ')} |`,
    `|${t.headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
  ]
  for (const r of t.rows) out.push(`| ${r.map(esc).join(' | ')} |`)
  if (t.notes?.length) out.push('', ...t.notes.map((n) => `${n}  `))
  return out.join('\n')
}

/** Writes `latest.md` (or another name) and the section charts into `dir`. */
export function writeResults(report: Report, dir: string, header: string, file = 'latest.md'): string {
  mkdirSync(dir, { recursive: true })
  const parts = [header]
  if (report.headlines.length) parts.push('## Headlines', report.headlines.map((h) => `- ${h}`).join('\n'))
  for (const s of report.sections) {
    parts.push(`## ${s.title}`)
    for (const t of s.tables) parts.push(tableMarkdown(t))
    for (const c of s.charts) {
      writeFileSync(join(dir, c.file), c.svg)
      parts.push(`![${c.caption}](${c.file})  \n*${c.caption}*`)
    }
    if (s.findings.length) parts.push(...s.findings)
  }
  if (report.failures.length) parts.push('## Consistency failures', ...report.failures.map((f) => `- ${f}`))
  const path = join(dir, file)
  writeFileSync(path, `${parts.join('\n\n')}\n`)
  return path
}
