/**
 * electron-builder.yml is valid for the electron-builder we install (its own JSON schema, with its
 * own YAML parser and ajv options) and keeps the platform settings the app depends on.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { PROTOCOL_SCHEME } from './deep-link.ts'
import { BUNDLES } from '../scripts/build-electron.ts'

const ROOT = resolve(import.meta.dirname, '..')
const require = createRequire(import.meta.url)
// Resolved from app-builder-lib itself, so the schema, parser and ajv are the ones it uses.
const builderLib = dirname(createRequire(require.resolve('electron-builder/package.json')).resolve('app-builder-lib/package.json'))
const fromLib = createRequire(join(builderLib, 'package.json'))
const yaml = fromLib('js-yaml') as { load(text: string): unknown }
type ValidateFn = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params: unknown }> | null }
const Ajv = fromLib('ajv') as new (options: object) => { compile(schema: object): ValidateFn }

const schema = JSON.parse(readFileSync(join(builderLib, 'scheme.json'), 'utf8')) as object
// app-builder-lib/out/util/config/schemaValidator.js compiles the schema with exactly these options.
const validate = new Ajv({ allErrors: true, verbose: true, coerceTypes: true, strict: false }).compile(schema)

// biome-ignore lint/suspicious/noExplicitAny: the YAML is checked against electron-builder's schema first; the tests then read its fields
type Config = Record<string, any>
const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Config
const targetNames = (t: unknown): string[] =>
  (Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? x : (x as { target: string }).target))

test("electron-builder.yml matches electron-builder's own schema", () => {
  const ok = validate(structuredClone(config))
  assert.ok(
    ok,
    `invalid: ${JSON.stringify(
      validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`),
      null,
      2,
    )}`,
  )
})

test('the schema check has teeth: an unknown key or a wrong type is refused', () => {
  assert.equal(validate({ ...structuredClone(config), notAnOption: true }), false)
  assert.equal(validate({ ...structuredClone(config), mac: { ...config['mac'], hardenedRuntime: { no: 1 } } }), false)
})

test('Windows: an NSIS installer', () => {
  assert.deepEqual(targetNames(config['win'].target), ['nsis'])
})

test('macOS: DMG and zip, hardened runtime, entitlements files that exist and allow JIT', () => {
  assert.deepEqual(targetNames(config['mac'].target).sort(), ['dmg', 'zip'])
  assert.equal(config['mac'].hardenedRuntime, true)
  for (const key of ['entitlements', 'entitlementsInherit']) {
    const file = join(ROOT, config['mac'][key])
    assert.ok(existsSync(file), `${key}: ${file} is missing`)
    assert.match(readFileSync(file, 'utf8'), /<key>com\.apple\.security\.cs\.allow-jit<\/key>\s*<true\/>/)
  }
})

test('macOS: the local-network prompt text and the Bonjour service libp2p mDNS uses', () => {
  const info = config['mac'].extendInfo
  assert.equal(typeof info.NSLocalNetworkUsageDescription, 'string')
  assert.ok(info.NSLocalNetworkUsageDescription.length > 20)
  assert.ok(info.NSBonjourServices.includes('_p2p._udp'))
})

test('Linux: AppImage and deb', () => {
  assert.deepEqual(targetNames(config['linux'].target).sort(), ['AppImage', 'deb'])
})

test('the grapevine:// scheme is registered, the scheme main listens for', () => {
  const schemes = (config['protocols'] as Array<{ schemes: string[] }>).flatMap((p) => p.schemes)
  assert.ok(schemes.includes(PROTOCOL_SCHEME))
})

test('no native rebuild: better-sqlite3 ships N-API prebuilds', () => {
  assert.equal(config['npmRebuild'], false)
})

test('the package runs the bundles: main entry, out/** in files, hardened fuses', () => {
  assert.equal(config['extraMetadata'].main, BUNDLES.main)
  assert.ok((config['files'] as string[]).includes('out/**/*'))
  assert.equal(config['electronFuses'].runAsNode, false)
  assert.equal(config['electronFuses'].enableNodeCliInspectArguments, false)
})

test('build/icon.png is a 1024×1024 PNG', () => {
  const png = readFileSync(join(ROOT, config['directories'].buildResources, 'icon.png'))
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47])
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1024, 1024])
})
