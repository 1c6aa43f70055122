/**
 * W1b — W1 through the real UI: N browser-mode peers (real `createPeer` peers in their own
 * processes, joined by invites and dialled into a mesh as in W1, each serving the renderer and the
 * client protocol on 127.0.0.1 as `grapevine-peer run --ui` does), one Chromium page on each, one
 * document open in every page. The last page types with `page.keyboard`; a keystroke is visible in a
 * page when its character is in that page's editor DOM (CodeMirror's `.cm-content`, teammates' caret
 * widgets left out). Times are taken in the pages, `performance.timeOrigin + performance.now()`: a
 * capture-phase keydown listener in the typing page, a MutationObserver on `.cm-content` in every
 * page (the typing page's own is the local echo). The renderer is built from the working tree into
 * this run's temp folder, so the bench measures the current UI and leaves out/renderer alone.
 */
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, CDPSession, Page } from 'playwright-core'
import type { Report } from './lib/report.ts'
import { grapevinePeers, tempDir } from './lib/systems.ts'
import { stopAll, type Worker } from './lib/workers.ts'
import { fmt, fmtRep, median, percentile, repeated, summarize } from './lib/stats.ts'
import { cdfChart } from './lib/svg.ts'
import { sleep } from './lib/serve.ts'
import { keyChar } from './lib/text-peer.ts'
import { loadTrace } from './lib/trace.ts'
import { procSample, threadsCpuMs } from './lib/proc.ts'
import { PROBE_PAGE_SCRIPT, PROBING, printStages, probeWorkers } from './lib/ui-probe.ts'

export interface W1bConfig {
  ns: number[]
  /** Keys typed at 10 keys/s per N (every one timed in every other page). */
  steadyKeys: number
  bursts: number
  burstKeys: number
}

export const W1B_FULL: W1bConfig = { ns: [2, 4], steadyKeys: 120, bursts: 3, burstKeys: 100 }
export const W1B_SMOKE: W1bConfig = { ns: [2], steadyKeys: 8, bursts: 1, burstKeys: 20 }

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
/** `BENCH_W1B_PROFILE=/dir`: a CPU profile of every page while typing at 10 keys/s, written there (the renderer then is not minified). */
const PROFILE_DIR = process.env['BENCH_W1B_PROFILE']
/** `BENCH_W1B_TRACE=/dir`: a Chromium trace (devtools.timeline) of the browser while typing at 10 keys/s, written there. */
const TRACE_DIR = process.env['BENCH_W1B_TRACE']
/** `BENCH_W1B_DOCS=1000`: the workspace also holds this many other documents (a listing the size of a real team's). */
const EXTRA_DOCS = Number(process.env['BENCH_W1B_DOCS'] ?? 0)
/**
 * `BENCH_W1B_TEXT_CHARS=104852`: the document starts with that much of the trace's final text (a long document),
 * and every page puts its caret at the end, where the typist types, so the new text is in every page's viewport.
 */
const TEXT_CHARS = Number(process.env['BENCH_W1B_TEXT_CHARS'] ?? 0)
/** As e2e/harness.ts launches it. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
]
/** The goals of issue 9 for this workload. */
const GOAL_P50_FACTOR = 2
const GOAL_BURST_MS = 50

/**
 * Installed in every page before the app loads (plain JavaScript: it runs in the page). `__gvb.watch()`
 * starts recording: each printable keydown's time, and the time each character beyond the current
 * text appears in the editor DOM (the text of `.cm-line`s without widgets: teammates' carets and
 * their name labels, placeholders).
 */
const PAGE_SCRIPT = `(() => {
  const clock = () => performance.timeOrigin + performance.now()
  const SKIP = '[contenteditable="false"], .cm-remote-caret, .cm-placeholder, .cm-widgetBuffer'
  const content = () => document.querySelector('[data-testid="editor"] .cm-content')
  const lineTexts = () => {
    const el = content()
    if (!el) return null
    return [...el.querySelectorAll('.cm-line')].map((line) => {
      let s = ''
      const w = document.createTreeWalker(line, NodeFilter.SHOW_TEXT)
      for (let t = w.nextNode(); t; t = w.nextNode()) {
        const skip = t.parentElement && t.parentElement.closest(SKIP)
        if (!skip || !line.contains(skip)) s += t.data
      }
      return s
    })
  }
  const length = () => {
    const ls = lineTexts()
    return ls ? ls.reduce((n, l) => n + l.length, 0) + ls.length - 1 : -1
  }
  const g = { keys: [], arrivals: [], base: 0, seen: 0, watching: false, observed: null, observer: null, longTasks: [] }
  try {
    new PerformanceObserver((list) => {
      if (g.watching) for (const e of list.getEntries()) g.longTasks.push(e.duration)
    }).observe({ type: 'longtask' })
  } catch {}
  g.clock = clock
  g.text = () => (lineTexts() || []).join('\\n')
  g.length = length
  g.watch = () => {
    const el = content()
    if (!el) throw new Error('no editor in this page')
    if (g.observed !== el) {
      if (g.observer) g.observer.disconnect()
      g.observer = new MutationObserver(() => {
        if (!g.watching) return
        const t = clock()
        const n = length() - g.base
        while (g.seen < n) g.arrivals[g.seen++] = t
      })
      g.observer.observe(el, { childList: true, subtree: true, characterData: true })
      g.observed = el
    }
    g.base = length()
    g.seen = 0
    g.arrivals = []
    g.keys = []
    g.longTasks = []
    g.watching = true
    return g.base
  }
  g.take = () => {
    g.watching = false
    return { keys: g.keys, arrivals: g.arrivals, sameEditor: g.observed === content(), longTasks: g.longTasks }
  }
  addEventListener('keydown', (e) => { if (g.watching && e.key.length === 1) g.keys.push(clock()) }, true)
  window.__gvb = g
})()`

/** Node's clock on the same scale as a page's: both are the system clock at time origin plus a monotonic clock. */
const nodeClock = (): number => performance.timeOrigin + performance.now()

/** Why W1b cannot run here, or null. */
function problem(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
  return null
}

/** Builds the renderer from the working tree into a temp folder (about 2 s); the folder. */
async function buildRenderer(): Promise<string> {
  const dir = tempDir('renderer')
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      join(ROOT, 'renderer/vite.config.ts'),
      '--outDir',
      dir,
      '--emptyOutDir',
      // Readable function names in the pages' profiles.
      ...(PROFILE_DIR ? ['--minify', 'false'] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  clearTimeout(timer)
  if (code !== 0 || !existsSync(join(dir, 'index.html'))) throw new Error(`building the renderer failed:\n${out.slice(-2000)}`)
  return dir
}

interface Take {
  keys: number[]
  arrivals: number[]
  sameEditor: boolean
  /** Durations of tasks over 50 ms on the page's main thread during the run. */
  longTasks: number[]
}

interface Measured {
  typing: number[]
  echo: number[]
  burst: number[]
  burstEcho: number[]
  /** Per burst: the last key visible in every other page, ms after its keydown; and after the burst's first keydown. */
  burstLast: number[]
  burstSpan: number[]
  /** Page clocks: largest difference of offsets to this process's clock, and the round trip that bounds it. */
  skewMs: number
  skewRttMs: number
  fps: number[]
  hidden: number
  /** Keydown to keydown in bursts (how fast page.keyboard sends). */
  burstGap: number[]
  /** Long tasks (over 50 ms) in the typing page and in the other pages, all runs. */
  longTyping: number[]
  longOthers: number[]
  /** Requests and events between each peer and its page while typing at 10 keys/s (the typist's last). */
  traffic: Traffic[]
  /** CPU per keystroke typed at 10 keys/s, ms: each page's main thread (the typist's last), each peer process. */
  pageCpu: number[]
  peerCpu: number[]
  /** The pages' editor workers together, per keystroke. */
  workerCpu: number
}

interface Traffic {
  requests: Record<string, number>
  events: Record<string, number>
}

/** "method 2.1, other 1.0" per keystroke, most first. */
function perKey(counts: Record<string, number>[], keys: number): string {
  const sum: Record<string, number> = {}
  for (const c of counts) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v
  const rows = Object.entries(sum)
    .map(([k, v]) => [k, v / counts.length / keys] as const)
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1])
  return rows.length ? rows.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') : 'none'
}

/**
 * CPU so far, ms: each page's main thread (CDP's TaskDuration), each peer process (/proc), and the pages'
 * editor workers together (their threads in Chromium's renderer processes, /proc).
 */
async function cpuNow(cdp: CDPSession[], workers: Worker[]): Promise<{ pages: number[]; peers: number[]; editorWorkers: number }> {
  const pages = await Promise.all(
    cdp.map(async (c) => {
      const { metrics } = await c.send('Performance.getMetrics')
      return (metrics.find((x) => x.name === 'TaskDuration')?.value ?? NaN) * 1000
    }),
  )
  return {
    pages,
    peers: workers.map((w) => procSample(w.pid)?.cpuMs ?? NaN),
    editorWorkers: threadsCpuMs('DedicatedWorker', '--type=renderer'),
  }
}

async function clockOffset(p: Page): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Number.POSITIVE_INFINITY }
  for (let i = 0; i < 7; i++) {
    const t0 = nodeClock()
    const v = await p.evaluate<number>('performance.timeOrigin + performance.now()')
    const t1 = nodeClock()
    if (t1 - t0 < best.rtt) best = { offset: v - (t0 + t1) / 2, rtt: t1 - t0 }
  }
  return best
}

const FPS_SCRIPT = `new Promise((resolve) => {
  let n = 0
  const t0 = performance.now()
  const f = () => { n++; if (performance.now() - t0 < 500) requestAnimationFrame(f); else resolve(n / ((performance.now() - t0) / 1000)) }
  requestAnimationFrame(f)
})`

async function waitSeen(pages: Page[], count: number, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const seen = await Promise.all(pages.map((p) => p.evaluate<number>('window.__gvb.seen')))
    if (seen.every((s) => s >= count)) return
    if (Date.now() > deadline) throw new Error(`${what}: pages saw ${seen.join(', ')} of ${count} keys`)
    await sleep(50)
  }
}

async function measure(browser: Browser, n: number, cfg: W1bConfig, rendererDir: string, report: Report, tag: string): Promise<Measured> {
  let workers: Worker[] = []
  const contexts: Awaited<ReturnType<Browser['newContext']>>[] = []
  const errors: string[] = []
  try {
    const g = await grapevinePeers(n, TEXT_CHARS > 0 ? { initial: loadTrace().endContent.slice(0, TEXT_CHARS) } : {})
    workers = g.workers
    if (EXTRA_DOCS > 0) {
      const extra = await workers[0]!.call<string[]>('createDocs', { workspaceId: g.ids.workspaceId, count: EXTRA_DOCS }, 600_000)
      for (const w of workers.slice(1))
        for (const docId of extra) await w.call('waitDoc', { workspaceId: g.ids.workspaceId, docId }, 120_000)
    }
    const urls = await Promise.all(workers.map((w) => w.call<string>('serveUi', { dir: rendererDir })))
    const pages = await Promise.all(
      urls.map(async (url, i) => {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } })
        contexts.push(ctx)
        const p = await ctx.newPage()
        p.on('pageerror', (err) => errors.push(`page ${i}: ${err.message}`))
        await p.addInitScript(PAGE_SCRIPT)
        if (PROBING) await p.addInitScript(PROBE_PAGE_SCRIPT)
        await p.goto(`${url}#/w/${g.ids.workspaceId}/d/${g.ids.docId}`)
        await p.locator('[data-testid="editor"] .cm-content').waitFor({ timeout: 60_000 })
        return p
      }),
    )
    const typist = pages.at(-1)!
    for (const p of TEXT_CHARS > 0 ? pages : [typist]) {
      await p.locator('[data-testid="editor"] .cm-content').click()
      await p.keyboard.press('Control+End')
    }
    // Warm up: connections, meshes, the first changes through every page.
    await Promise.all(pages.map((p) => p.evaluate('window.__gvb.watch()')))
    await typist.keyboard.type('warm up ', { delay: 50 })
    await waitSeen(pages, 8, `W1b ${tag} warm-up`, 60_000)
    await sleep(300)

    const m: Measured = {
      typing: [],
      echo: [],
      burst: [],
      burstEcho: [],
      burstLast: [],
      burstSpan: [],
      skewMs: 0,
      skewRttMs: 0,
      fps: [],
      hidden: 0,
      burstGap: [],
      longTyping: [],
      longOthers: [],
      traffic: [],
      pageCpu: [],
      peerCpu: [],
      workerCpu: Number.NaN,
    }
    const cdp = await Promise.all(
      pages.map(async (p) => {
        const c = await p.context().newCDPSession(p)
        await c.send('Performance.enable')
        if (PROFILE_DIR) await c.send('Profiler.enable')
        return c
      }),
    )
    const offsets = await Promise.all(pages.map(clockOffset))
    m.skewMs = Math.max(...offsets.map((o) => o.offset)) - Math.min(...offsets.map((o) => o.offset))
    m.skewRttMs = Math.max(...offsets.map((o) => o.rtt))
    m.fps = await Promise.all(pages.map((p) => p.evaluate<number>(FPS_SCRIPT)))
    m.hidden = (await Promise.all(pages.map((p) => p.evaluate<string>('document.visibilityState')))).filter((v) => v !== 'visible').length

    let typed = 0
    const run = async (keys: number, burst: boolean): Promise<{ key: Take; pagesTaken: Take[] }> => {
      const bases = await Promise.all(pages.map((p) => p.evaluate<number>('window.__gvb.watch()')))
      report.check(
        bases.every((b) => b === bases[0]),
        `W1b ${tag}: every page shows the same text length before a run (${bases.join(', ')})`,
      )
      const chars = Array.from({ length: keys }, () => keyChar(typed++))
      if (burst) await typist.keyboard.type(chars.join(''))
      else {
        const start = performance.now()
        for (const [i, ch] of chars.entries()) {
          await sleep(Math.max(0, start + i * 100 - performance.now()))
          await typist.keyboard.type(ch)
        }
      }
      await waitSeen(pages, keys, `W1b ${tag}`)
      await sleep(200)
      const taken = await Promise.all(pages.map((p) => p.evaluate<Take>('window.__gvb.take()')))
      const key = taken.at(-1)!
      report.check(key.keys.length === keys, `W1b ${tag}: ${key.keys.length} keydowns recorded for ${keys} keys`)
      m.longTyping.push(...key.longTasks)
      for (const t of taken.slice(0, -1)) m.longOthers.push(...t.longTasks)
      report.check(
        taken.every((t) => t.sameEditor),
        `W1b ${tag}: every page kept its editor during the run`,
      )
      return { key, pagesTaken: taken }
    }

    if (PROBING) await probeWorkers(typist, pages.slice(0, -1))
    await Promise.all(workers.map((w) => w.call('takeUiTraffic')))
    const cpuBefore = await cpuNow(cdp, workers)
    if (PROFILE_DIR) await Promise.all(cdp.map((c) => c.send('Profiler.start')))
    if (TRACE_DIR)
      await browser.startTracing(undefined, {
        path: join(TRACE_DIR, `w1b-${tag.replace('=', '')}.trace.json`),
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'v8.execute'],
      })
    const steady = await run(cfg.steadyKeys, false)
    if (TRACE_DIR) await browser.stopTracing()
    const cpuAfter = await cpuNow(cdp, workers)
    if (PROFILE_DIR) {
      const profiles = await Promise.all(cdp.map((c) => c.send('Profiler.stop')))
      for (const [i, r] of profiles.entries())
        writeFileSync(join(PROFILE_DIR, `w1b-${tag.replace('=', '')}-page${i}.cpuprofile`), JSON.stringify(r.profile))
    }
    m.pageCpu = cpuAfter.pages.map((x, i) => (x - cpuBefore.pages[i]!) / cfg.steadyKeys)
    m.peerCpu = cpuAfter.peers.map((x, i) => (x - cpuBefore.peers[i]!) / cfg.steadyKeys)
    m.workerCpu = (cpuAfter.editorWorkers - cpuBefore.editorWorkers) / cfg.steadyKeys
    m.traffic = await Promise.all(workers.map((w) => w.call<Traffic>('takeUiTraffic')))
    if (PROBING)
      await printStages({
        tag,
        peers: workers,
        pages,
        keys: steady.key.keys,
        arrivals: steady.pagesTaken.slice(0, -1).map((t) => t.arrivals),
        offsets,
      })
    steady.key.keys.forEach((kt, k) => {
      m.echo.push(steady.key.arrivals[k]! - kt)
      for (const t of steady.pagesTaken.slice(0, -1)) m.typing.push(t.arrivals[k]! - kt)
    })
    for (let b = 0; b < cfg.bursts; b++) {
      await sleep(500)
      const r = await run(cfg.burstKeys, true)
      const last = cfg.burstKeys - 1
      r.key.keys.forEach((kt, k) => {
        m.burstEcho.push(r.key.arrivals[k]! - kt)
        if (k > 0) m.burstGap.push(kt - r.key.keys[k - 1]!)
        for (const t of r.pagesTaken.slice(0, -1)) m.burst.push(t.arrivals[k]! - kt)
      })
      const lastSeen = Math.max(...r.pagesTaken.slice(0, -1).map((t) => t.arrivals[last]!))
      m.burstLast.push(lastSeen - r.key.keys[last]!)
      m.burstSpan.push(lastSeen - r.key.keys[0]!)
    }

    const texts = await Promise.all(pages.map((p) => p.evaluate<string>('window.__gvb.text()')))
    const want = 8 + cfg.steadyKeys + cfg.bursts * cfg.burstKeys
    // A long document shows only what is in view: there, the typed text at its end is compared.
    const shown = (t: string): string => (TEXT_CHARS > 0 ? t.slice(-want) : t)
    report.check(
      texts.every((t) => shown(t) === shown(texts[0]!)),
      `W1b ${tag}: the editors of all ${n} pages show the same text${TEXT_CHARS > 0 ? ' at its end' : ''}`,
    )
    report.check(
      TEXT_CHARS > 0 ? texts[0]!.length >= want : texts[0]!.length === want,
      `W1b ${tag}: the editor text has ${texts[0]!.length} characters (want ${want}${TEXT_CHARS > 0 ? ' or more in view' : ''})`,
    )
    report.check(
      m.typing.concat(m.burst, m.echo, m.burstEcho).every((x) => Number.isFinite(x)),
      `W1b ${tag}: every keystroke became visible in every page`,
    )
    report.check(errors.length === 0, `W1b ${tag}: no page errors (${errors.slice(0, 3).join('; ')})`)
    return m
  } finally {
    await Promise.allSettled(contexts.map((c) => c.close()))
    await stopAll(workers)
  }
}

export async function runW1b(report: Report, cfg: W1bConfig): Promise<void> {
  const s = report.section('w1b', 'W1b — edit → visible through the UI (Chromium pages on browser-mode peers)')
  const why = problem()
  if (why) {
    console.log(`W1b skipped: ${why}`)
    s.findings.push(`W1b did not run: ${why}.`)
    return
  }
  const { chromium } = await import('playwright-core')
  // Chromium starts while the renderer builds.
  const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  launching.catch(() => {}) // awaited below; this only keeps an early failure from being "unhandled" meanwhile
  let rendererDir: string
  try {
    rendererDir = await buildRenderer()
  } catch (err) {
    await launching.then(
      (b) => b.close(),
      () => {},
    )
    throw err
  }
  const browser = await launching
  const results = new Map<number, Measured>()
  try {
    for (const n of cfg.ns) {
      const tag = `N=${n}`
      console.log(`W1b: Grapevine through the UI, ${tag}…`)
      try {
        results.set(n, await measure(browser, n, cfg, rendererDir, report, tag))
      } catch (err) {
        report.check(false, `W1b ${tag} failed: ${(err as Error).message.split('\n')[0]}`)
        if (process.env['BENCH_VERBOSE']) console.error(err)
      }
    }
  } finally {
    await browser.close()
  }

  const rows = cfg.ns.map((n) => {
    const m = results.get(n)
    if (!m) return [`N=${n}`, 'failed', '', '', '', '', '', '', '', '', '', '']
    const t = summarize(m.typing)
    const e = summarize(m.echo)
    const b = summarize(m.burst)
    const w1 = report.figures.get(`w1.grapevine.typingP50.n${n}`)
    const factor = w1 !== undefined ? t.p50 / w1 : NaN
    const burstLast = repeated(m.burstLast)
    const goals = [
      w1 === undefined ? 'p50: no W1' : `p50 ${factor <= GOAL_P50_FACTOR ? 'met' : 'missed'}`,
      `burst met in ${m.burstLast.filter((x) => x <= GOAL_BURST_MS).length} of ${m.burstLast.length}`,
    ].join(', ')
    return [
      `N=${n}`,
      fmt(t.p50),
      fmt(t.p99),
      fmt(t.max),
      fmt(e.p50),
      fmt(e.p99),
      fmt(b.p50),
      fmtRep(burstLast),
      fmtRep(repeated(m.burstSpan)),
      w1 === undefined ? '' : fmt(w1),
      w1 === undefined ? '' : `${factor.toFixed(1)}×`,
      goals,
    ]
  })
  const ok = [...results.values()]
  const ranW1 = [...report.figures.keys()].some((k) => k.startsWith('w1.'))
  const skew = ok.length ? Math.max(...ok.map((m) => m.skewMs)) : NaN
  const rtt = ok.length ? Math.max(...ok.map((m) => m.skewRttMs)) : NaN
  const fps = ok.flatMap((m) => m.fps)
  const hidden = ok.reduce((a, m) => a + m.hidden, 0)
  const gaps = ok.flatMap((m) => m.burstGap)
  const longT = ok.flatMap((m) => m.longTyping)
  const longO = ok.flatMap((m) => m.longOthers)
  const longText = (xs: number[]): string => (xs.length ? `${xs.length} (longest ${fmt(Math.max(...xs))} ms)` : 'none')
  s.tables.push({
    title: 'W1b — keystroke in one page → the character in the editor DOM of every other page (ms), Grapevine only',
    headers: [
      'N',
      'typing p50',
      'typing p99',
      'typing max',
      'local echo p50',
      'local echo p99',
      'burst p50',
      'burst: last key everywhere after its keydown',
      'burst: first keydown → last key everywhere',
      'W1 Grapevine typing p50 (this run)',
      'W1b ÷ W1',
      `goals (p50 ≤ ${GOAL_P50_FACTOR}× W1; burst ≤ ${GOAL_BURST_MS} ms)`,
    ],
    rows,
    notes: [
      `N Chromium pages (one browser, a context each), each on its own browser-mode peer process; the last page types with page.keyboard: ${cfg.steadyKeys} keys at 10 keys/s (each timed in the N−1 other pages: ${cfg.steadyKeys}×(N−1) samples), then ${cfg.bursts} burst(s) of ${cfg.burstKeys} keys as fast as page.keyboard.type sends them.${TEXT_CHARS > 0 ? ` A long document (BENCH_W1B_TEXT_CHARS): it starts with ${TEXT_CHARS.toLocaleString('en')} characters of the trace's final text, and the typist types at its end, where every page's caret is.` : ''}`,
      'Times in the pages (performance.timeOrigin + performance.now()): keydown in a capture listener of the typing page; "visible" when a MutationObserver on .cm-content sees the text (without caret widgets) reach that key. Local echo: the typing page\'s own .cm-content (the browser inserts typed text natively, so this is the input path only).',
      `Burst cells: median over bursts (min–max). There are no anchors for W1b in issue 9 (automerge-repo and Yjs have no UI here); the W1 column is W1's Grapevine typing p50 from the same run${ranW1 ? '' : ' (W1 did not run in this run: run `--only w1,w1b` for the ratio)'}.`,
      `Page clocks agree with this process's to within ${fmt(skew)} ms (largest difference of estimated offsets; each estimate within ±${fmt(rtt / 2)} ms). Animation frames: ${fps.length ? `${fmt(Math.min(...fps))}–${fmt(Math.max(...fps))}` : '–'} per second in the pages; ${hidden} page(s) not visible. A receiving page's editor worker applies a teammate's change at once after a quiet spell, and those that arrive during an apply together next (renderer/src/editor/replica.ts); the page's main thread only updates the editor.`,
      ...ok.map((m, i) => {
        const n = cfg.ns.filter((x) => results.has(x))[i]!
        const others = m.traffic.slice(0, -1)
        return `Per keystroke typed at 10 keys/s, N=${n}: CPU ${fmt(m.pageCpu.at(-1)!)} ms in the typing page's main thread and ${fmt(m.peerCpu.at(-1)!)} ms in its peer, ${fmt(median(m.pageCpu.slice(0, -1)))} ms in each other page and ${fmt(median(m.peerCpu.slice(0, -1)))} ms in its peer (medians; CDP's TaskDuration and /proc), and ${fmt(m.workerCpu)} ms in the ${n} pages' editor workers together (their threads, /proc); the typing page sent ${perKey([m.traffic.at(-1)!.requests], cfg.steadyKeys)} and was sent ${perKey([m.traffic.at(-1)!.events], cfg.steadyKeys)}; each other page sent ${perKey(
          others.map((t) => t.requests),
          cfg.steadyKeys,
        )} and was sent ${perKey(
          others.map((t) => t.events),
          cfg.steadyKeys,
        )} (requests by method, events by type, counted at the peers).`
      }),
      `In bursts page.keyboard sent a key every ${fmt(median(gaps))} ms (median keydown to keydown; p99 ${fmt(percentile(gaps, 99))} ms). Main-thread tasks over 50 ms during the runs: typing page ${longText(longT)}, other pages ${longText(longO)}.`,
    ],
  })
  const head = cfg.ns.flatMap((n) => {
    const m = results.get(n)
    return m
      ? [`N=${n}: ${fmt(median(m.typing))} ms typing p50, burst last key everywhere ${fmt(median(m.burstLast))} ms after its keydown`]
      : []
  })
  if (head.length) report.headlines.push(`W1b keystroke → visible through the UI (Chromium, browser mode): ${head.join('; ')}.`)
  if (ok.length) {
    s.charts.push({
      file: 'w1b-ui.svg',
      caption:
        "W1b: keystroke → visible in the other pages' editor DOM, typing at 10 keys/s and in bursts, with the local echo (empirical CDF, log time axis)",
      svg: cdfChart({
        title: 'W1b keystroke → visible in the other Chromium pages',
        xLabel: 'latency (ms, log scale)',
        panels: cfg.ns.flatMap((n) => {
          const m = results.get(n)
          return m
            ? [
                {
                  title: `N = ${n}`,
                  series: [
                    { name: 'typing at 10 keys/s', values: m.typing },
                    { name: `bursts of ${cfg.burstKeys}`, values: m.burst },
                    { name: 'local echo (typing)', values: m.echo },
                  ],
                },
              ]
            : []
        }),
      }),
    })
  }
  const p99s = cfg.ns.flatMap((n) => (results.get(n) ? [`${fmt(percentile(results.get(n)!.typing, 99))} ms at N=${n}`] : []))
  if (p99s.length) s.findings.push(`W1b typing p99: ${p99s.join(', ')}.`)
  // What typing at 10 keys/s asks of the machine: every page and every peer runs on its cores.
  const demand = cfg.ns.flatMap((n) => {
    const m = results.get(n)
    if (!m) return []
    const workers = Number.isFinite(m.workerCpu) ? m.workerCpu : 0
    const cores = (10 * (m.pageCpu.reduce((a, x) => a + x, 0) + m.peerCpu.reduce((a, x) => a + x, 0) + workers)) / 1000
    return [`${cores.toFixed(2)} cores at N=${n}`]
  })
  if (demand.length)
    s.findings.push(
      `Typing at 10 keys/s, the pages' main threads, their editor workers and the peer processes together used ${demand.join(', ')} of this machine's ${availableParallelism()} (CPU per keystroke in the notes above, times 10; the browser's other processes and threads come on top): where that nears the machine's cores, the latencies above are a queue for the CPU more than the path.`,
    )
}
