/**
 * W1b's stage probe (`BENCH_PROBE=1`): where one keystroke through the UI spends its time. The typing
 * window posts the edit to its editor worker, that worker sends it on its WebSocket, the typist's peer takes
 * the request, each other peer gets the live message and hands the change to its clients (the peers record
 * these: bench/workers/gv-peer.ts), that page's worker reads the first WebSocket message after the keydown
 * (the first message its handler reads: that of the change, as a rule) and posts the edit to its window, the window gets it, and the
 * character is in the DOM (W1b's own measurement). Also each page's DOM mutations outside the editor.
 * Installed only when probing: its hooks run in the pages and workers, on the path they measure.
 */
import type { Page } from 'playwright-core'
import type { Worker } from './workers.ts'
import { fmt, median, now } from './stats.ts'

export const PROBING = Boolean(process.env['BENCH_PROBE'])

/**
 * Installed in every page after W1b's own script (it records only while that one watches): when the
 * window posts an edit to its editor worker and gets one from it, and DOM mutations outside the editor
 * by the nearest element with a test id.
 */
export const PROBE_PAGE_SCRIPT = `(() => {
  const clock = () => performance.timeOrigin + performance.now()
  const watching = () => Boolean(window.__gvb && window.__gvb.watching)
  const p = { posts: [], gots: [], outside: {} }
  const post = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (m, ...rest) {
    if (watching() && m && m.t === 'edit') p.posts.push(clock())
    return post.call(this, m, ...rest)
  }
  const W = Worker
  window.Worker = function (...args) {
    const w = new W(...args)
    w.addEventListener('message', (e) => { if (watching() && e.data && e.data.t === 'remote' && e.data.edit) p.gots.push(clock()) })
    return w
  }
  window.Worker.prototype = W.prototype
  new MutationObserver((records) => {
    if (!watching()) return
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement
      if (!el || el.closest('.cm-editor')) continue
      const at = el.closest('[data-testid]')
      const k = (at ? at.getAttribute('data-testid') : '?') + ' ' + r.type + (r.attributeName ? ':' + r.attributeName : '')
      p.outside[k] = (p.outside[k] || 0) + 1
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
  window.__gvp = p
})()`

/** Hooks the pages' editor workers (started by now): the typist's WebSocket sends, the others' posts of edits to their windows. */
export async function probeWorkers(typist: Page, others: readonly Page[]): Promise<void> {
  for (const p of others)
    for (const w of p.workers())
      await w.evaluate(`(() => {
        self.__posts = []
        self.__wsin = []
        // A WebSocket message as the worker's handler reads it (the socket was opened before this hook).
        const data = Object.getOwnPropertyDescriptor(MessageEvent.prototype, 'data')
        Object.defineProperty(MessageEvent.prototype, 'data', {
          configurable: true,
          get() {
            if (this.target instanceof WebSocket && !this.__gvSeen) { this.__gvSeen = true; self.__wsin.push(performance.timeOrigin + performance.now()) }
            return data.get.call(this)
          },
        })
        const post = self.postMessage
        self.postMessage = function (m, ...rest) { if (m && m.t === 'remote' && m.edit) self.__posts.push(performance.timeOrigin + performance.now()); return post.call(this, m, ...rest) }
      })()`)
  for (const w of typist.workers())
    await w.evaluate(`(() => {
      self.__sends = []
      const send = WebSocket.prototype.send
      WebSocket.prototype.send = function (d) { self.__sends.push(performance.timeOrigin + performance.now()); return send.call(this, d) }
    })()`)
}

const pageTimes = async (p: Page, expr: string): Promise<number[]> =>
  (await Promise.all(p.workers().map((w) => w.evaluate<number[]>(`${expr} || []`)))).flat()

/**
 * Prints the stages of the steady keystrokes (medians in ms after the keydown) and each page's mutations
 * outside the editor. `pages` in W1b's order (the typist last, served by the last of `peers`), `keys` the
 * typist's keydowns and `arrivals` each other page's, on the pages' clocks; `offsets` each page's clock
 * minus this process's.
 */
export async function printStages(o: {
  tag: string
  peers: readonly Worker[]
  pages: readonly Page[]
  keys: readonly number[]
  arrivals: readonly (readonly number[])[]
  offsets: readonly { offset: number }[]
}): Promise<void> {
  type Ev = [string, number, number]
  // Peers' clock (CLOCK_MONOTONIC) onto this process's.
  const toNode = performance.timeOrigin + performance.now() - now()
  const probes = await Promise.all(o.peers.map((w) => w.call<Ev[]>('probe')))
  const typist = o.pages.length - 1
  const keys = o.keys.map((t) => t - o.offsets[typist]!.offset)
  /** The first of `times` (on this process's clock) in keystroke k's window, ms after it. */
  const first = (times: readonly number[], k: number): number => {
    const t0 = keys[k]!
    const t1 = keys[k + 1] ?? Number.POSITIVE_INFINITY
    const t = times.find((x) => x >= t0 && x < t1)
    return t === undefined ? Number.NaN : t - t0
  }
  const peerTimes = (evs: Ev[], name: string): number[] => evs.filter(([n]) => n === name).map(([, t]) => t + toNode)
  const onNode = (times: readonly number[], page: number): number[] => times.map((t) => t - o.offsets[page]!.offset)
  const stage = (times: readonly number[]): string => fmt(median(keys.map((_, k) => first(times, k)).filter(Number.isFinite)))
  const probe = (await o.pages[typist]!.evaluate('window.__gvp')) as { posts: number[]; outside: Record<string, number> }
  const sends = await pageTimes(o.pages[typist]!, 'self.__sends')
  const req = peerTimes(probes[typist]!, 'req')
  console.log(
    `W1b ${o.tag} stages (median ms after keydown): window posted the edit ${stage(onNode(probe.posts, typist))}, ` +
      `its worker sent it ${stage(onNode(sends, typist))}, the typist's peer took the request ${stage(req)}`,
  )
  for (let i = 0; i < typist; i++) {
    const page = o.pages[i]!
    const seen = (await page.evaluate('window.__gvp')) as { gots: number[]; outside: Record<string, number> }
    const posts = await pageTimes(page, 'self.__posts')
    const wsin = await pageTimes(page, 'self.__wsin')
    const shown = o.arrivals[i]!.map((t, k) => t - o.offsets[i]!.offset - keys[k]!)
    console.log(
      `  page ${i}: live at its peer ${stage(peerTimes(probes[i]!, 'live'))}, to its clients ${stage(peerTimes(probes[i]!, 'out'))}, ` +
        `its worker read a message ${stage(onNode(wsin, i))}, its worker posted it ${stage(onNode(posts, i))}, its window got it ${stage(onNode(seen.gots, i))}, shown ${fmt(median(shown))}; ` +
        `DOM mutations outside the editor ${JSON.stringify(seen.outside)}`,
    )
  }
  console.log(`  typing page: DOM mutations outside the editor ${JSON.stringify(probe.outside)}`)
}
