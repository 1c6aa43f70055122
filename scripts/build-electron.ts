/**
 * Bundles the Electron shell with esbuild: main → out/main/index.js, preload → out/preload/index.cjs,
 * the peer's utilityProcess entry → out/peer/utility.js. The renderer is Vite's job (out/renderer).
 * Usage: node scripts/build-electron.ts
 */
import { existsSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { build, type BuildOptions, type Metafile } from 'esbuild'

export const ROOT = resolve(import.meta.dirname, '..')
export const OUT_DIR = resolve(ROOT, 'out')
/** Where each bundle lands, relative to the project (main/index.ts expects this layout under out/). */
export const BUNDLES = { main: 'out/main/index.js', preload: 'out/preload/index.cjs', peer: 'out/peer/utility.js' } as const

/**
 * Left to node_modules, which ships with the app: 'electron' is the runtime itself; better-sqlite3
 * loads a native .node file; Automerge's Node entry reads its .wasm from beside its own file
 * (`${__dirname}/automerge_wasm_bg.wasm`), which a bundle would break; `ws`'s optional native
 * helpers are not installed.
 */
export const NODE_EXTERNALS = [
  'electron',
  'better-sqlite3',
  '@automerge/automerge',
  '@automerge/automerge/*',
  'bufferutil',
  'utf-8-validate',
]

// ESM output: libp2p is ESM-only and may use top-level await. Bundled CommonJS dependencies still
// call require() for Node built-ins, which ESM lacks; this gives them one.
const ESM_REQUIRE_BANNER =
  "import { createRequire as __grapevineCreateRequire } from 'node:module'; const require = __grapevineCreateRequire(import.meta.url);"

// Electron 45 embeds Node 22 and Chromium 140+.
const NODE_TARGET = 'node22'
const CHROME_TARGET = 'chrome130'

function targets(): Array<BuildOptions & { label: string }> {
  const node: BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    external: NODE_EXTERNALS,
    banner: { js: ESM_REQUIRE_BANNER },
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
  }
  return [
    { ...node, label: 'main', entryPoints: [resolve(ROOT, 'main/index.ts')], outfile: resolve(ROOT, BUNDLES.main) },
    { ...node, label: 'peer', entryPoints: [resolve(ROOT, 'main/peer/host/utility.ts')], outfile: resolve(ROOT, BUNDLES.peer) },
    {
      // A sandboxed preload is one classic script that may require only 'electron'.
      label: 'preload',
      entryPoints: [resolve(ROOT, 'preload/index.ts')],
      outfile: resolve(ROOT, BUNDLES.preload),
      bundle: true,
      platform: 'browser',
      format: 'cjs',
      target: CHROME_TARGET,
      external: ['electron'],
      sourcemap: 'inline',
      logLevel: 'warning',
      metafile: true,
    },
  ]
}

/** Builds all three bundles; returns each output file with its size. */
export async function buildElectron(): Promise<Array<{ label: string; file: string; bytes: number }>> {
  const all = targets()
  for (const t of all) {
    const entry = (t.entryPoints as string[])[0]!
    if (!existsSync(entry)) throw new Error(`${relative(ROOT, entry)} is missing (the ${t.label} entry).`)
  }
  const results = await Promise.all(
    all.map(async ({ label, ...options }) => ({ label, meta: (await build(options)).metafile as Metafile })),
  )
  return results.flatMap(({ label, meta }) =>
    Object.entries(meta.outputs)
      .filter(([file]) => !file.endsWith('.map'))
      .map(([file, out]) => ({ label, file: relative(ROOT, resolve(file)), bytes: out.bytes })),
  )
}

if (import.meta.main) {
  try {
    const started = performance.now()
    for (const o of await buildElectron())
      console.log(`${o.label.padEnd(8)} ${o.file.padEnd(28)} ${(o.bytes / 1024).toFixed(0).padStart(6)} KiB`)
    console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  } catch (err) {
    console.error(`build failed: ${(err as Error).message}`)
    process.exitCode = 1
  }
}
