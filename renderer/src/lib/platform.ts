/** Shortcut labels as this platform writes them: "Ctrl+K", or "⌘K" on macOS. */

/** The preload exposes the OS name (and nothing else); in a browser, the user agent tells. */
function isMac(): boolean {
  const exposed = (globalThis as { grapevine?: { platform?: unknown } }).grapevine?.platform
  if (typeof exposed === 'string') return exposed === 'darwin'
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.userAgent)
}

const MAC = isMac()

/** The Alt key as this platform names it (Option, ⌥, on macOS). */
export const ALT = MAC ? '⌥' : 'Alt'

/** "Mod+Shift+I" → "Ctrl+Shift+I" or "⇧⌘I". */
export function shortcutLabel(spec: string, mac = MAC): string {
  const parts = spec.split('+')
  const key = parts.pop()!.toUpperCase()
  if (!mac) return [...parts.map((p) => (p === 'Mod' ? 'Ctrl' : p)), key].join('+')
  const sym: Record<string, string> = { Shift: '⇧', Alt: '⌥', Mod: '⌘', Ctrl: '⌃' }
  const order = ['Ctrl', 'Alt', 'Shift', 'Mod']
  return (
    [...parts]
      .sort((a, b) => order.indexOf(a) - order.indexOf(b))
      .map((p) => sym[p] ?? p)
      .join('') + key
  )
}
