/**
 * The renderer's build: React + CodeMirror + Automerge into out/renderer, with relative asset
 * paths (base './') so the same files load over http (browser mode) and inside Electron.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [react()],
  resolve: {
    alias: [
      // Automerge's "browser" entry imports its .wasm as an ES module (that needs a bundler plugin),
      // and its base64 entry puts 4.9 MB of base64 into the bundle. The slim entry has no WASM:
      // src/editor/automerge-wasm.ts loads it. One exact-match alias, so that
      // automerge-codemirror uses the same (initialised) Automerge.
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
  server: { fs: { allow: [here('..')] } },
})
