/**
 * Draws build/icon.png (1024×1024): a bunch of grapes on a purple disc. electron-builder makes the
 * .icns (macOS), .ico (Windows) and the Linux sizes from this one file at package time.
 * Usage: node build/make-icon.ts   (no dependencies: antialiased shapes, PNG by hand with zlib)
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'

const SIZE = 1024
type RGB = readonly [number, number, number]
/** Coverage of a pixel (0..1) by a shape, given the signed distance of its centre to the edge. */
const cover = (signedDistance: number): number => Math.min(1, Math.max(0, 0.5 - signedDistance))

interface Shape {
  color: RGB
  alpha?: number
  distance(x: number, y: number): number
}

const circle = (cx: number, cy: number, r: number, color: RGB, alpha = 1): Shape => ({
  color,
  alpha,
  distance: (x, y) => Math.hypot(x - cx, y - cy) - r,
})

/** A thick line segment with round ends (the stem). */
const capsule = (ax: number, ay: number, bx: number, by: number, r: number, color: RGB): Shape => ({
  color,
  distance: (x, y) => {
    const [dx, dy] = [bx - ax, by - ay]
    const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return Math.hypot(x - ax - t * dx, y - ay - t * dy) - r
  },
})

/** A rotated ellipse (the leaf), distance approximated by f/|∇f|: exact enough for a 1-px edge. */
const ellipse = (cx: number, cy: number, rx: number, ry: number, angle: number, color: RGB): Shape => ({
  color,
  distance: (x, y) => {
    const [c, s] = [Math.cos(angle), Math.sin(angle)]
    const u = ((x - cx) * c + (y - cy) * s) / rx
    const v = (-(x - cx) * s + (y - cy) * c) / ry
    const f = Math.hypot(u, v) - 1
    const grad = Math.hypot(u / rx, v / ry) / Math.max(Math.hypot(u, v), 1e-6)
    return f / Math.max(grad, 1e-6)
  },
})

const DISC: RGB = [91, 42, 134]
const OUTLINE: RGB = [52, 20, 82]
const GRAPE: RGB = [196, 160, 236]
const LEAF: RGB = [109, 190, 69]
const STEM: RGB = [120, 78, 40]

const shapes: Shape[] = [circle(512, 512, 480, DISC), capsule(512, 330, 548, 190, 16, STEM), ellipse(640, 238, 108, 52, -0.45, LEAF)]
const rows = [[302, 442, 582, 722], [372, 512, 652], [442, 582], [512]]
rows.forEach((xs, i) => {
  for (const x of xs) {
    const y = 392 + i * 122
    shapes.push(circle(x, y, 76, OUTLINE), circle(x, y, 68, GRAPE), circle(x - 24, y - 26, 18, [255, 255, 255], 0.45))
  }
})

// Paint back to front with "over" compositing on straight (non-premultiplied) RGBA.
const rgba = new Float64Array(SIZE * SIZE * 4)
for (let y = 0; y < SIZE; y++) {
  for (let x = 0; x < SIZE; x++) {
    const i = (y * SIZE + x) * 4
    let [r, g, b, a] = [0, 0, 0, 0]
    for (const s of shapes) {
      const k = cover(s.distance(x + 0.5, y + 0.5)) * (s.alpha ?? 1)
      if (k === 0) continue
      const outA = k + a * (1 - k)
      r = (s.color[0] * k + r * a * (1 - k)) / outA
      g = (s.color[1] * k + g * a * (1 - k)) / outA
      b = (s.color[2] * k + b * a * (1 - k)) / outA
      a = outA
    }
    rgba.set([r, g, b, a * 255], i)
  }
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const out = Buffer.alloc(body.length + 8)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), body.length + 4)
  return out
}

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1))
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0 // filter: none
  for (let x = 0; x < SIZE * 4; x++) raw[y * (SIZE * 4 + 1) + 1 + x] = Math.round(rgba[y * SIZE * 4 + x]!)
}
const header = Buffer.alloc(13)
header.writeUInt32BE(SIZE, 0)
header.writeUInt32BE(SIZE, 4)
header.set([8, 6, 0, 0, 0], 8) // 8-bit RGBA, no interlace
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
])
const file = join(import.meta.dirname, 'icon.png')
writeFileSync(file, png)
console.log(`wrote ${file} (${png.length} bytes)`)
