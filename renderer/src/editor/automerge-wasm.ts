/**
 * Starts Automerge's WASM. The build aliases '@automerge/automerge' to its "slim" entry (no WASM
 * inside), so this is the one place that loads it: streamed from its own file where the page can
 * fetch (http, the app's protocol) — compiled off the main thread, no base64 — and, where it
 * cannot (a page opened from file://), from the base64 copy in a separate chunk.
 */
import { initializeBase64Wasm, initializeWasm, isWasmInitialized } from '@automerge/automerge'
import wasmUrl from '@automerge/automerge/automerge.wasm?url'

let started: Promise<void> | null = null

export function startAutomerge(): Promise<void> {
  if (isWasmInitialized()) return Promise.resolve()
  started ??= initializeWasm(wasmUrl).catch(async (err: unknown) => {
    console.warn('Automerge WASM could not be fetched; using the inlined copy', err)
    const { automergeWasmBase64 } = await import('@automerge/automerge/automerge.wasm.base64')
    await initializeBase64Wasm(automergeWasmBase64)
  })
  return started
}
