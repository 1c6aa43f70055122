/**
 * The command line as `grapevine-peer` reads it: the options, which command the words name, the
 * options a command is given, and the exit code of each failure. Apart from bin.ts so that tests run
 * commands in-process exactly as the binary parses them (cli/board.test.ts).
 */
import { parseArgs } from 'node:util'
import { GrapevineError } from '../../../shared/protocol.ts'
import { StoreError } from '../store/errors.ts'
import { BOARD_COMMANDS } from './board-commands.ts'
import { COMMANDS, type CommandContext, UsageError } from './commands.ts'

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, invite: 4, unreachable: 5, store: 6, forbidden: 7 } as const

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage
  if (String((err as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS')) return EXIT.usage
  if (err instanceof StoreError) return EXIT.store
  if (err instanceof GrapevineError) {
    if (err.code === 'not-found') return EXIT.notFound
    if (err.code.startsWith('invite-')) return EXIT.invite
    if (err.code === 'unreachable') return EXIT.unreachable
    if (err.code === 'forbidden') return EXIT.forbidden
    if (err.code === 'bad-request' || err.code === 'too-large') return EXIT.usage
  }
  return EXIT.error
}

/** Every command, by its words. */
export const ALL_COMMANDS: typeof COMMANDS = { ...COMMANDS, ...BOARD_COMMANDS }

export function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      profile: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      mdns: { type: 'boolean' },
      'no-mdns': { type: 'boolean' },
      'no-approval': { type: 'boolean' },
      connect: { type: 'string', multiple: true },
      relay: { type: 'string', multiple: true },
      'serve-relay': { type: 'string' },
      'no-port-mapping': { type: 'boolean' },
      rebuild: { type: 'boolean' },
      workspace: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
      ttl: { type: 'string' },
      role: { type: 'string' },
      all: { type: 'boolean' },
      wait: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ui: { type: 'boolean' },
      'ui-port': { type: 'string' },
      // History and the digest.
      at: { type: 'string' },
      since: { type: 'string' },
      // Boards and cards.
      column: { type: 'string', multiple: true },
      assignee: { type: 'string' },
      due: { type: 'string' },
      label: { type: 'string', multiple: true },
      before: { type: 'string' },
      position: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
    },
  })
}

type Values = ReturnType<typeof parseCommandLine>['values']

/** The command the words name, the words after it, and its options. */
export function commandFor(
  positionals: string[],
  values: Values,
): { name: string; command: (typeof COMMANDS)[string]; args: string[]; opts: CommandContext['opts'] } {
  const two = `${positionals[0]} ${positionals[1] ?? ''}`
  const name = ALL_COMMANDS[two] ? two : positionals[0]!
  const command = ALL_COMMANDS[name]
  if (!command) throw new UsageError(`unknown command "${positionals.join(' ')}" (see --help)`)
  const args = positionals.slice(name.split(' ').length)
  const opts = {
    workspace: values.workspace,
    file: values.file,
    ttl: values.ttl,
    role: values.role,
    json: values.json ?? false,
    name: values.name,
    all: values.all ?? false,
    rebuild: values.rebuild ?? false,
    approve: !values['no-approval'],
    at: values.at,
    since: values.since,
    columns: values.column ?? [],
    assignee: values.assignee,
    due: values.due,
    labels: values.label,
    before: values.before,
    position: values.position,
    title: values.title,
    description: values.description,
  }
  return { name, command, args, opts }
}
