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
      // Automerge's "browser" entry imports its .wasm as an ES module, which needs a bundler plugin
      // and a fetch at run time (not possible from file:// in Electron). The base64 entry
      // inlines the module and instantiates it synchronously: it works wherever the page loads.
      // One exact-match alias, so automerge-codemirror shares the same Automerge instance.
      { find: /^@automerge\/automerge$/, replacement: here('../node_modules/@automerge/automerge/dist/mjs/entrypoints/fullfat_base64.js') },
    ],
  },
  build: {
    outDir: here('../out/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // Automerge's inlined WASM makes the editor chunk ~2 MB by nature; it loads lazily, after the
    // first paint (see src/editor/load.ts), and everything else stays small.
    chunkSizeWarningLimit: 4096,
  },
  server: { fs: { allow: [here('..')] } },
})
