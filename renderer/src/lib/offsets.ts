/**
 * Teammates' UTC offsets as last heard in their presence, remembered on this device, so that
 * "their local time" still shows while they are offline — when it matters most across time zones.
 */
const KEY = 'grapevine.utcOffsets'

function read(): Record<string, number> {
  try {
    const v: unknown = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? '{}')
    return typeof v === 'object' && v !== null ? (v as Record<string, number>) : {}
  } catch {
    return {}
  }
}

export function rememberOffset(deviceId: string, minutes: number): void {
  const all = read()
  if (all[deviceId] === minutes) return
  all[deviceId] = minutes
  try {
    globalThis.localStorage?.setItem(KEY, JSON.stringify(all))
  } catch {
    // storage full or disabled: the offset is only a convenience
  }
}

export function knownOffset(deviceId: string): number | null {
  const v = read()[deviceId]
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 16 * 60 ? v : null
}
