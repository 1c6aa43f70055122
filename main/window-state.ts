/**
 * The window's size and position, remembered in a small JSON file in userData. The file is read
 * as untrusted input: a hand-edited, truncated or stale file (a monitor since unplugged) must never
 * put the window off-screen or at an absurd size.
 */
import { readFileSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}
export interface WindowState {
  /** Absent: let the OS centre the window. */
  x?: number
  y?: number
  width: number
  height: number
  maximized: boolean
}

export const WINDOW_STATE_FILE = 'window-state.json'
export const DEFAULT_WINDOW_STATE: WindowState = { width: 1200, height: 800, maximized: false }
export const MIN_WIDTH = 640
export const MIN_HEIGHT = 420
const MAX_FILE_BYTES = 4096
// How much of the window must lie on a display for the saved position to be kept: enough of the
// top edge to grab it with the mouse.
const MIN_VISIBLE = { width: 120, height: 40 }

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 1e6

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x),
    height: Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y),
  }
}

/** A safe state from whatever was read; `workAreas` are the displays' work areas now. */
export function validateWindowState(raw: unknown, workAreas: readonly Rect[]): WindowState {
  if (typeof raw !== 'object' || raw === null) return { ...DEFAULT_WINDOW_STATE }
  const r = raw as Record<string, unknown>
  if (!finite(r['width']) || !finite(r['height'])) return { ...DEFAULT_WINDOW_STATE }
  const maxW = Math.max(MIN_WIDTH, ...workAreas.map((a) => a.width))
  const maxH = Math.max(MIN_HEIGHT, ...workAreas.map((a) => a.height))
  const width = Math.round(Math.min(maxW, Math.max(MIN_WIDTH, r['width'])))
  const height = Math.round(Math.min(maxH, Math.max(MIN_HEIGHT, r['height'])))
  const state: WindowState = { width, height, maximized: r['maximized'] === true }
  if (finite(r['x']) && finite(r['y'])) {
    const bounds = { x: Math.round(r['x']), y: Math.round(r['y']), width, height }
    // The title bar must be reachable on some display; otherwise forget the position.
    const titleBar = { ...bounds, height: MIN_VISIBLE.height }
    const visible = workAreas.some((area) => {
      const o = overlap(titleBar, area)
      return o.width >= MIN_VISIBLE.width && o.height >= MIN_VISIBLE.height && bounds.y >= area.y
    })
    if (visible) Object.assign(state, { x: bounds.x, y: bounds.y })
  }
  return state
}

/** Reads the saved state (small, once, at startup: a synchronous read is acceptable here). */
export function loadWindowState(file: string, workAreas: readonly Rect[], read: (file: string) => Buffer = readFileSync): WindowState {
  try {
    const bytes = read(file)
    if (bytes.byteLength > MAX_FILE_BYTES) return { ...DEFAULT_WINDOW_STATE }
    return validateWindowState(JSON.parse(bytes.toString('utf8')), workAreas)
  } catch {
    return { ...DEFAULT_WINDOW_STATE }
  }
}

/** Writes the state atomically, so a crash mid-write leaves the previous file intact. */
export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  const tmp = `${file}.tmp`
  await writeFile(tmp, JSON.stringify(state))
  await rename(tmp, file)
}

/** The parts of a BrowserWindow the tracker uses. */
export interface TrackedWindow {
  on(event: 'resize' | 'move' | 'close', listener: () => void): unknown
  getNormalBounds(): Rect
  isMaximized(): boolean
  isDestroyed(): boolean
}

/** Saves the window's normal bounds a moment after it stops moving, and when it closes. */
export function trackWindowState(win: TrackedWindow, save: (state: WindowState) => void, delayMs = 500): void {
  let timer: ReturnType<typeof setTimeout> | null = null
  const snapshot = (): void => {
    if (timer) clearTimeout(timer)
    timer = null
    if (win.isDestroyed()) return
    // Normal bounds, not current ones: a maximized window must come back maximized over the size
    // it had before, not as a maximized-size normal window.
    save({ ...win.getNormalBounds(), maximized: win.isMaximized() })
  }
  const later = (): void => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(snapshot, delayMs)
  }
  win.on('resize', later)
  win.on('move', later)
  win.on('close', snapshot)
}
