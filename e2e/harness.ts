/**
 * End-to-end harness: peers as separate OS processes in browser mode (`run --ui`, on 127.0.0.1,
 * mDNS off) and Debian's Chromium driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

const BIN = fileURLToPath(new URL('../main/peer/cli/bin.ts', import.meta.url))
export const SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or null. In CI a missing browser is a failure, not a skip. */
export function browserProblem(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
  if (!existsSync(fileURLToPath(new URL('../out/renderer/index.html', import.meta.url)))) return 'the UI is not built (npm run build:renderer)'
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
  const proc = spawn(process.execPath, [BIN, 'run', '--ui', '--profile', profile, '--name', name, '--host', '127.0.0.1', '--no-mdns'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
    stop: () => new Promise((resolve) => {
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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  })
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true })
  return `${SCREENSHOTS}${name}.png`
}
