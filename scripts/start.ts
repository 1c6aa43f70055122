/**
 * `npm start`: builds the renderer (Vite) and the Electron bundles, then runs the desktop app.
 * Arguments after `--` go to the app (for example a grapevine://join/… link).
 * Where Electron's binary is not installed it says so, points to browser mode, and exits 1.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { buildElectron, OUT_DIR, ROOT } from './build-electron.ts'

/**
 * The Electron executable, or null where it is not installed. Reads what `require('electron')`
 * reads, without requiring it: in Electron 45 that require starts a download when the binary is
 * missing, which must not happen in a test or on an offline machine.
 */
export function electronBinary(): string | null {
  let pkgDir: string
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
  } catch {
    return null
  }
  const pathFile = join(pkgDir, 'path.txt')
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : ''
  const override = process.env['ELECTRON_OVERRIDE_DIST_PATH']
  const file = override ? join(override, relative || 'electron') : relative ? join(pkgDir, 'dist', relative) : ''
  return file && existsSync(file) ? file : null
}

export const NO_ELECTRON_MESSAGE = [
  "Electron's binary is not installed here (node_modules/electron has no dist/: it was installed with",
  'ELECTRON_SKIP_BINARY_DOWNLOAD or without network), so the desktop app cannot start.',
  'Use Grapevine in your browser instead:  npm run ui   (it prints the address to open)',
].join('\n')

/** Runs Vite on renderer/vite.config.ts (out/renderer); skipped with a warning where it does not exist yet. */
export function buildRenderer(): void {
  const config = join(ROOT, 'renderer', 'vite.config.ts')
  if (!existsSync(config)) {
    console.warn('renderer/vite.config.ts not found: the window will show "The interface is not built".')
    return
  }
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  const r = spawnSync(process.execPath, [vite, 'build', '--config', config], { cwd: ROOT, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('the renderer build failed (see above)')
}

/** What to hand Electron: the project folder once package.json's "main" names the bundle. */
export function appArgument(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main?: string }
  return pkg.main && resolve(ROOT, pkg.main) === join(OUT_DIR, 'main', 'index.js') ? ROOT : join(OUT_DIR, 'main', 'index.js')
}

async function start(args: string[]): Promise<number> {
  const electron = electronBinary()
  if (!electron) {
    console.error(NO_ELECTRON_MESSAGE)
    return 1
  }
  buildRenderer()
  await buildElectron()
  const env = { ...process.env }
  // Set by some tools; it would make Electron behave as plain Node.
  delete env['ELECTRON_RUN_AS_NODE']
  const child = spawn(electron, [appArgument(), ...args], { cwd: ROOT, stdio: 'inherit', env })
  return new Promise((done) => {
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)))
    child.on('error', (err) => {
      console.error(`could not start Electron: ${err.message}`)
      done(1)
    })
  })
}

if (import.meta.main) {
  start(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: Error) => {
      console.error(`npm start failed: ${err.message}`)
      process.exitCode = 1
    },
  )
}
