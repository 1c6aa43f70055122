/**
 * The renderer's build: React + CodeMirror + Automerge into out/renderer, with relative asset
 * paths (base './') so the same files load over http (browser mode) and inside Electron.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import react from '@vitejs/plugin-react'
import { serializeCsp } from '../shared/csp.ts'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

/**
 * The page's CSP as a meta tag, from the one policy (shared/csp.ts) that both hosts also send as a
 * header. The header is the one in force; the tag covers a page opened where no header is set
 * (file://, a static server). First in <head>, so it governs every script and style after it.
 */
function cspMeta(): Plugin {
  return {
    name: 'grapevine-csp-meta',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: serializeCsp(undefined, { meta: true }) },
        injectTo: 'head-prepend',
      },
    ],
  }
}

export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [react(), cspMeta()],
  resolve: {
    alias: [
      // Automerge's "browser" entry imports its .wasm as an ES module (that needs a bundler plugin),
      // and its base64 entry puts 4.9 MB of base64 into the bundle. The slim entry has no WASM:
      // src/editor/automerge-wasm.ts loads it (in the editor's worker). One exact-match alias, so that
      // every import of Automerge there gets the same (initialised) module.
      { find: /^@automerge\/automerge$/, replacement: here('../node_modules/@automerge/automerge/dist/mjs/entrypoints/slim.js') },
    ],
  },
  build: {
    outDir: here('../out/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // The base64 fallback copy of Automerge's WASM is one big chunk by nature; it loads only
    // where the .wasm file cannot be fetched (see src/editor/automerge-wasm.ts).
    chunkSizeWarningLimit: 5000,
  },
  // The editor's worker (src/editor/replica-worker.ts) as an ES module, so that it splits like the page:
  // the base64 copy of the WASM stays a chunk of its own, loaded only where the .wasm cannot be fetched.
  worker: { format: 'es' },
  server: { fs: { allow: [here('..')] } },
})
