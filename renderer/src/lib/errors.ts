/** Errors in plain words for people. Never a stack: the details go to the console. */
import { ERROR_CODES, type ErrorCode } from '../../../shared/protocol.ts'

const LEAD: Record<ErrorCode, string> = {
  'bad-request': 'That did not work',
  'not-found': 'Not found',
  forbidden: 'You are not allowed to do that',
  'invite-invalid': 'That invite does not work',
  'invite-expired': 'That invite has expired',
  // Also a revoked invite, or one whose join was declined: the reason that follows says which.
  'invite-used': 'That invite cannot be used any more',
  unreachable: 'Could not reach the other device',
  // The request is well-formed but the state refuses it (removing the owner, revoking a used invite).
  conflict: 'That cannot be done as things stand',
  'too-large': 'That is too large',
  'version-mismatch': 'This window and the Grapevine peer are different versions',
  internal: 'Something went wrong in Grapevine',
}

/** The error's code when it is one the peer sent (a `GrapevineError`), else null. */
export function errorCode(err: unknown): ErrorCode | null {
  if (typeof err !== 'object' || err === null) return null
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : null
}

/** One or two sentences a person can act on. */
export function plainError(err: unknown): string {
  const code = errorCode(err)
  if (code) {
    const message = firstLine(String((err as { message?: unknown }).message ?? ''))
    return message ? `${LEAD[code]}: ${message}` : `${LEAD[code]}.`
  }
  return 'Something unexpected went wrong. Try again; if it keeps happening, restart Grapevine.'
}

function firstLine(s: string): string {
  const line = s.split('\n')[0]!.trim()
  // The peer's messages are written for people; still, never show a stack frame or a huge blob.
  if (/^\s*at\s/.test(line)) return ''
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}
