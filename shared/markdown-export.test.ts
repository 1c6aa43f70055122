import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_TEXT_CHARS } from './limits.ts'
import { exportFiles, fileNameFor, ImportError, importPlan, MANIFEST_FILE, MAX_IMPORT_FILES } from './markdown-export.ts'

const doc = (id: string, title: string, text: string) => ({ id, title, text, createdAt: 1, lastChangeAt: 2 })

test('file names are safe on every desktop file system and unique in the folder', () => {
  assert.equal(fileNameFor('Plan'), 'Plan.md')
  assert.equal(fileNameFor('a/b\\c:d*e?f"g<h>i|j'), 'a-b-c-d-e-f-g-h-i-j.md')
  assert.equal(fileNameFor('  ..hidden. '), 'hidden.md')
  assert.equal(fileNameFor(''), 'Untitled.md')
  assert.equal(fileNameFor('...'), 'Untitled.md')
  assert.equal(fileNameFor('CON'), 'CON-.md')
  assert.equal(fileNameFor('lpt1'), 'lpt1-.md')
  assert.equal(fileNameFor('tab\there\nnew'), 'tab here new.md')
  assert.equal(fileNameFor('x'.repeat(300)).length, 103)
  assert.equal(/[\ud800-\udbff]\.md$/.test(fileNameFor(`${'x'.repeat(99)}😀`)), false, 'no half of a pair')
  const files = exportFiles({ id: 'w', name: 'Team' }, [
    doc('1', 'Plan', 'a'),
    doc('2', 'plan', 'b'),
    doc('3', 'Plan', 'c'),
    doc('4', 'workspace', 'd'),
  ])
  assert.deepEqual(
    files.map((f) => f.path),
    ['Plan.md', 'plan (2).md', 'Plan (3).md', 'workspace.md', MANIFEST_FILE],
  )
})

test('a folder exported imports back to the same titles and texts; a folder of any .md files imports too', () => {
  const docs = [doc('1', 'Road: map?', '# Road\n\n- one\n'), doc('2', '', 'untitled text'), doc('3', 'Notes', 'é😀\r\nline')]
  const files = exportFiles({ id: 'w', name: 'Team' }, docs, 123)
  const manifest = JSON.parse(files.at(-1)!.text)
  assert.equal(manifest.exportedAt, 123)
  assert.deepEqual(manifest.boards, [])
  // As a person's folder picker hands them: nested under the folder's name, in any order.
  const picked = [...files].reverse().map((f) => ({ path: `export/${f.path}`, text: f.text }))
  const { items, skipped } = importPlan([...picked, { path: 'export/photo.png', text: '\u0089PNG' }])
  assert.deepEqual(items.map((i) => [i.title, i.text]).sort(), docs.map((d) => [d.title, d.text]).sort())
  assert.deepEqual(skipped, ['export/photo.png'])
  const plain = importPlan([
    { path: 'b.markdown', text: 'B' },
    { path: 'a.MD', text: 'A' },
    { path: 'notes.txt', text: 'no' },
  ])
  assert.deepEqual(
    plain.items.map((i) => `${i.title}:${i.text}`),
    ['a:A', 'b:B'],
  )
})

test('imports refuse, naming the file: a foreign workspace.json, a file over the text cap, too many files', () => {
  assert.throws(() => importPlan([{ path: MANIFEST_FILE, text: '{"format":"other"}' }]), ImportError)
  assert.throws(() => importPlan([{ path: `x/${MANIFEST_FILE}`, text: 'not json' }]), /x\/workspace.json is not JSON/)
  assert.throws(() => importPlan([{ path: 'big.md', text: 'x'.repeat(MAX_TEXT_CHARS + 1) }]), /big\.md is over/)
  const many = Array.from({ length: MAX_IMPORT_FILES + 1 }, (_, i) => ({ path: `${i}.md`, text: '' }))
  assert.throws(() => importPlan(many), /at most 1000/)
  assert.equal(importPlan(many.slice(0, MAX_IMPORT_FILES)).items.length, MAX_IMPORT_FILES)
})

test('a board goes into workspace.json, not into a Markdown file, and the folder still imports', () => {
  const board = {
    title: 'Sprint',
    deleted: false,
    hidden: 0,
    columns: [
      {
        id: 'c1',
        name: 'To do',
        pos: 'V',
        implicit: false,
        cards: [
          {
            id: 'k1',
            title: 'Ship',
            description: 'soon',
            column: 'c1',
            pos: 'V',
            assignee: null,
            due: '2027-01-31',
            labels: ['p1'],
            createdAt: 1,
            createdBy: null,
            clipped: false,
          },
        ],
      },
    ],
  }
  const files = exportFiles({ id: 'w', name: 'Team' }, [doc('1', 'Plan', 'text'), { ...doc('2', 'Sprint', '## To do\n\n- Ship\n'), board }])
  assert.deepEqual(
    files.map((f) => f.path),
    ['Plan.md', MANIFEST_FILE],
  )
  const manifest = JSON.parse(files.at(-1)!.text)
  assert.deepEqual(manifest.boards, [
    {
      id: '2',
      title: 'Sprint',
      createdAt: 1,
      lastChangeAt: 2,
      columns: [{ name: 'To do', cards: [{ title: 'Ship', description: 'soon', assignee: null, due: '2027-01-31', labels: ['p1'] }] }],
    },
  ])
  const plan = importPlan(files)
  assert.deepEqual(
    plan.items.map((i) => i.title),
    ['Plan'],
  )
  assert.deepEqual(plan.boards, manifest.boards, 'the board comes back whole')

  // A board a newer version (or a person) wrote that this version does not read is left out, named; the rest imports.
  manifest.boards.push({ ...manifest.boards[0], columns: [] }, { title: 'x'.repeat(5000) }, 'junk')
  const edited = files.map((f) => (f.path === MANIFEST_FILE ? { ...f, text: JSON.stringify(manifest) } : f))
  const partial = importPlan(edited)
  assert.equal(partial.boards.length, 1)
  assert.deepEqual(
    partial.skipped,
    [2, 3, 4].map((n) => `${MANIFEST_FILE}: board ${n} (not a board this version reads)`),
  )
})
