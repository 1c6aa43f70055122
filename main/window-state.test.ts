/** The saved window state is untrusted input: it never yields an off-screen or absurd window. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEFAULT_WINDOW_STATE,
  loadWindowState,
  MIN_HEIGHT,
  MIN_WIDTH,
  saveWindowState,
  trackWindowState,
  validateWindowState,
  type Rect,
} from './window-state.ts'

const laptop: Rect = { x: 0, y: 25, width: 1440, height: 875 }
const external: Rect = { x: 1440, y: 0, width: 2560, height: 1440 }

test('a good state on a present display is kept', () => {
  assert.deepEqual(validateWindowState({ x: 100, y: 80, width: 1200, height: 800, maximized: true }, [laptop]), {
    x: 100,
    y: 80,
    width: 1200,
    height: 800,
    maximized: true,
  })
  assert.deepEqual(validateWindowState({ x: 2000, y: 100, width: 1600, height: 1000 }, [laptop, external]), {
    x: 2000,
    y: 100,
    width: 1600,
    height: 1000,
    maximized: false,
  })
})

test('a position on a display that is gone is dropped (the OS centres the window)', () => {
  assert.deepEqual(validateWindowState({ x: 2000, y: 100, width: 1200, height: 800 }, [laptop]), {
    width: 1200,
    height: 800,
    maximized: false,
  })
  // Only a sliver visible, or the title bar above the top of the screen: not reachable.
  assert.equal(validateWindowState({ x: 1400, y: 100, width: 800, height: 600 }, [laptop]).x, undefined)
  assert.equal(validateWindowState({ x: 100, y: -300, width: 800, height: 600 }, [laptop]).x, undefined)
})

test('sizes are clamped to the minimum and to the largest display', () => {
  const tiny = validateWindowState({ width: 10, height: 10 }, [laptop])
  assert.deepEqual([tiny.width, tiny.height], [MIN_WIDTH, MIN_HEIGHT])
  const huge = validateWindowState({ x: 0, y: 25, width: 99999, height: 99999 }, [laptop])
  assert.deepEqual([huge.width, huge.height], [1440, 875])
})

test('garbage gives the default state', () => {
  for (const raw of [
    null,
    'x',
    42,
    [],
    {},
    { width: '1200', height: 800 },
    { width: NaN, height: 800 },
    { width: Infinity, height: 1 },
    { width: 1e300, height: 800 },
  ]) {
    assert.deepEqual(validateWindowState(raw, [laptop]), DEFAULT_WINDOW_STATE, JSON.stringify(raw))
  }
  const noPos = validateWindowState({ x: '10', y: 20, width: 900, height: 700, maximized: 'yes' }, [laptop])
  assert.deepEqual(noPos, { width: 900, height: 700, maximized: false })
})

test('the file round-trips; a missing, corrupt or oversized file gives the default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-winstate-'))
  try {
    const file = join(dir, 'window-state.json')
    assert.deepEqual(loadWindowState(file, [laptop]), DEFAULT_WINDOW_STATE)
    await saveWindowState(file, { x: 50, y: 60, width: 1000, height: 700, maximized: false })
    assert.deepEqual(loadWindowState(file, [laptop]), { x: 50, y: 60, width: 1000, height: 700, maximized: false })
    writeFileSync(file, '{"width": 1000, "hei')
    assert.deepEqual(loadWindowState(file, [laptop]), DEFAULT_WINDOW_STATE)
    writeFileSync(file, JSON.stringify({ width: 1000, height: 700, pad: 'x'.repeat(10_000) }))
    assert.deepEqual(loadWindowState(file, [laptop]), DEFAULT_WINDOW_STATE)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the tracker saves normal bounds after moves settle, and at close', async () => {
  const listeners = new Map<string, () => void>()
  const saved: unknown[] = []
  let maximized = false
  trackWindowState(
    {
      on: (e, l) => listeners.set(e, l),
      getNormalBounds: () => ({ x: 1, y: 2, width: 800, height: 600 }),
      isMaximized: () => maximized,
      isDestroyed: () => false,
    },
    (s) => saved.push(s),
    10,
  )
  listeners.get('move')!()
  listeners.get('resize')!()
  listeners.get('move')!()
  await new Promise((r) => setTimeout(r, 30))
  assert.equal(saved.length, 1)
  maximized = true
  listeners.get('close')!()
  assert.deepEqual(saved[1], { x: 1, y: 2, width: 800, height: 600, maximized: true })
})
