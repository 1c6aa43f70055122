/**
 * End-to-end harness: peers as separate OS processes in browser mode (`run --ui`, on 127.0.0.1,
 * mDNS off) and Debian's Chromium driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { PEER_NODE_FLAGS } from '../shared/peer-runtime.ts'
import { tempDir } from '../main/peer/test/helpers.ts'

const BIN = fileURLToPath(new URL('../main/peer/cli/bin.ts', import.meta.url))
/** The README's screenshots: refreshed only by `npm run screenshots` (scripts/screenshots.ts), never by `npm test`. */
export const README_SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/**
 * One browser-mode peer (its profile in a temp folder) and Chromium for a test file: started before its
 * tests, stopped after them; nothing is started when `problem` says the browser tests cannot run.
 */
export function onePeer(problem: string | null, name = 'ana-laptop'): { peer(): UiPeer; browser(): Browser } {
  const dir = tempDir()
  let peer: UiPeer | undefined
  let browser: Browser | undefined
  before(async () => {
    if (problem) return
    peer = await startUiPeer(dir.path, name)
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
    await peer?.stop()
    dir.remove()
  })
  return { peer: () => peer!, browser: () => browser! }
}

/** Why the browser tests cannot run here, or null. In CI a missing browser is a failure, not a skip. */
export function browserProblem(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
  if (!existsSync(fileURLToPath(new URL('../out/renderer/index.html', import.meta.url))))
    return 'the UI is not built (npm run build:renderer)'
  return null
}

export interface UiPeer {
  url: string
  proc: ChildProcess
  log(): string
  /** SIGTERM, and wait for a clean exit. */
  stop(): Promise<number | null>
}

/** Starts `grapevine-peer run --ui` on a profile and resolves with the URL it prints. */
export async function startUiPeer(profile: string, name: string): Promise<UiPeer> {
  const proc = spawn(
    process.execPath,
    [...PEER_NODE_FLAGS, BIN, 'run', '--ui', '--profile', profile, '--name', name, '--host', '127.0.0.1', '--no-mdns'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d))
  proc.stderr!.on('data', (d: Buffer) => (out += d))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer ${name} did not start:\n${out}`)), 30_000)
    const check = (): void => {
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)
      if (m && out.includes('listening on')) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    proc.stdout!.on('data', check)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`peer ${name} exited (${code}):\n${out}`))
    })
  })
  return {
    url,
    proc,
    log: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode)
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000)
        proc.once('exit', (code) => {
          clearTimeout(kill)
          resolve(code)
        })
        proc.kill('SIGTERM')
      }),
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  })
}

/**
 * Where this run's screenshots go: `$GRAPEVINE_SCREENSHOTS` when set (the screenshots command sets it to
 * docs/screenshots), else a temp folder, so a test run leaves the work tree as it found it.
 */
export interface Screenshots {
  dir: string
  path(name: string): string
  /** Removes a temp folder (kept when `keep`, e.g. after a failure, so its pictures can be looked at). */
  done(keep: boolean): void
}

export function screenshots(): Screenshots {
  const given = process.env['GRAPEVINE_SCREENSHOTS']
  const dir = given ? resolve(given) : mkdtempSync(join(tmpdir(), 'gv-e2e-shots-'))
  mkdirSync(dir, { recursive: true })
  return {
    dir,
    path: (name) => join(dir, `${name}.png`),
    done(keep) {
      if (given) return
      if (keep) console.log(`screenshots of this run are in ${dir}`)
      else rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Ana and Ben as a browser test has them: each a browser-mode peer in its own process and a page. */
export interface TwoPeople {
  ana: UiPeer
  /** Reassign after restarting Ben's peer, so that the teardown stops the running one. */
  ben: UiPeer
  pa: Page
  pb: Page
  dirs: { ana: { path: string }; ben: { path: string } }
  shots: Screenshots
  /** Runs a test's scenario; when it fails, each page's screen is kept beside the run's screenshots. */
  run(scenario: () => Promise<void>): Promise<void>
}

/** Sets up Ana and Ben before the file's tests (unless `problem`) and tears everything down after. */
export function twoPeople(problem: string | null): TwoPeople {
  const dirs = { ana: tempDir(), ben: tempDir() }
  const shots = screenshots()
  let browser: Browser | undefined
  let failed = false
  const people = { dirs, shots } as unknown as TwoPeople
  people.run = async (scenario) => {
    try {
      await scenario()
    } catch (err) {
      failed = true
      await Promise.allSettled([
        people.pa.screenshot({ path: shots.path('failure-ana') }),
        people.pb.screenshot({ path: shots.path('failure-ben') }),
      ])
      throw err
    }
  }
  before(async () => {
    if (problem) return
    ;[people.ana, people.ben] = await Promise.all([startUiPeer(dirs.ana.path, 'ana-laptop'), startUiPeer(dirs.ben.path, 'ben-desktop')])
    browser = await launchChromium()
    const page = async (): Promise<Page> => (await browser!.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    ;[people.pa, people.pb] = await Promise.all([page(), page()])
    for (const p of [people.pa, people.pb]) p.on('pageerror', (err) => console.log(`page error: ${err.message}`))
  })
  after(async () => {
    await browser?.close()
    await Promise.allSettled([people.ana?.stop(), people.ben?.stop()])
    dirs.ana.remove()
    dirs.ben.remove()
    shots.done(failed)
  })
  return people
}

/** A first run: the page asks for a name. */
export async function onboard(p: Page, url: string, name: string): Promise<void> {
  await p.goto(url)
  await p.getByTestId('name-input').fill(name)
  await p.getByTestId('name-input').press('Enter')
}
