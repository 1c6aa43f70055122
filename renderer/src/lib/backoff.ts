/**
 * How long to wait before the next attempt to reach the peer again, after `failures` attempts that
 * failed since the last success: half a second, doubling, at most five seconds. The window's
 * connection (connection.ts) and the editor worker's own session (editor/worker-session.ts) both
 * redial by it.
 */
export function redialDelayMs(failures: number): number {
  return Math.min(5000, 500 * 2 ** failures)
}
