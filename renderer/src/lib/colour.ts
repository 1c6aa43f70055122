/** A teammate's colour, derived from their device id: the same on every screen, no coordination. */

/** FNV-1a, 32-bit: small, fast, and well spread for short ids. */
function hash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Hue in degrees [0, 360) for a device. */
export function hueFor(deviceId: string): number {
  return hash(deviceId) % 360
}

/**
 * A caret/label colour for a device that reads on both the light and the dark theme (white label
 * text on it keeps contrast: lightness stays at 40%).
 */
export function colourFor(deviceId: string): string {
  return `hsl(${hueFor(deviceId)} 70% 40%)`
}

/** The same hue, translucent, for the selection highlight behind text. */
export function selectionColourFor(deviceId: string): string {
  return `hsl(${hueFor(deviceId)} 80% 55% / 0.28)`
}

/** One or two letters for an avatar: "Ana Lima" → "AL", "bob" → "B". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  const letters = parts.length > 1 ? [parts[0]!, parts[parts.length - 1]!].map((p) => [...p][0]) : [[...(parts[0] ?? '?')][0]]
  return letters.join('').toUpperCase()
}
