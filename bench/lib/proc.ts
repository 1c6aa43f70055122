/**
 * CPU time and resident memory of a process from /proc (Linux), read by the parent: nothing runs
 * in the measured process and nothing crosses its IPC channel.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

let ticks = 0
/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux). */
function clockTicks(): number {
  if (!ticks) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

export interface ProcSample {
  /** User + system CPU time so far, ms. */
  cpuMs: number
  /** Resident set size, bytes. */
  rss: number
}

/** The process's CPU time and RSS now, or null when it is gone (or this is not Linux). */
export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks()
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return { cpuMs, rss: m ? Number(m[1]) * 1024 : NaN }
  } catch {
    return null
  }
}

/**
 * CPU time so far (ms) of every thread named `comm` (as /proc shows it, at most 15 characters) in the
 * processes whose command line holds `cmdline`: Chromium's renderers run each Web Worker on a thread of
 * its own ("DedicatedWorker thread"), which CDP's page metrics leave out. NaN where /proc cannot tell.
 */
export function threadsCpuMs(comm: string, cmdline: string): number {
  let total = 0
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cmdline)) continue
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith(comm)) continue
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          total += ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks()
        }
      } catch {
        // The process or thread ended while it was read.
      }
    }
  } catch {
    return Number.NaN
  }
  return total
}

/** Least-squares slope of y against x (NaN with fewer than two points). */
export function slope(points: readonly [number, number][]): number {
  const p = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  if (p.length < 2) return NaN
  const mx = p.reduce((a, [x]) => a + x, 0) / p.length
  const my = p.reduce((a, [, y]) => a + y, 0) / p.length
  let num = 0
  let den = 0
  for (const [x, y] of p) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}
