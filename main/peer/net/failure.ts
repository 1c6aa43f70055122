import type { Log } from '../log.ts'

/**
 * Why a stream session failed, in words, whatever was thrown. libp2p rejects a write that waits for
 * a drain with the stream's `close` Event (no `.message`), and a peer may reject with anything, so
 * `err.message` alone logged "undefined" when the other side died.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    // A dial of several addresses fails with one error per address.
    return `${err.message || err.name}: ${[...new Set(err.errors.map(describeFailure))].join('; ')}`
  }
  if (err instanceof Error) {
    const text = err.message || err.name
    switch (err.name) {
      case 'StreamResetError':
        return `the stream was reset by the other side (${text})`
      case 'StreamAbortedError':
        return `the stream was aborted (${text})`
      case 'UnexpectedEOFError':
        return `the other side closed the stream (${text})`
      case 'ConnectionClosedError':
      case 'ConnectionClosingError':
      case 'MuxerClosedError':
        return `the connection closed (${text})`
      case 'TimeoutError':
        return `timed out (${text})`
      case 'AbortError':
        return `aborted (${text})`
      case 'WireError':
        return `undecodable message from the other side (${text})`
    }
    return text
  }
  // A DOM-style Event, e.g. the stream's `close`, possibly carrying the error that closed it.
  if (typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string') {
    const { type, error } = err as { type: string; error?: unknown }
    if (error !== undefined && error !== null) return describeFailure(error)
    return type === 'close' ? 'the stream closed while data was waiting to be sent (the other side went away)' : `stream event '${type}'`
  }
  if (typeof err === 'string' && err !== '') return err
  if (err === undefined || err === null || err === '') return 'an empty rejection, with no reason given'
  try {
    return `a non-error rejection: ${JSON.stringify(err) ?? String(err)}`
  } catch {
    return `a non-error rejection: ${String(err)}`
  }
}

/**
 * For a process that runs a peer, from its `uncaughtException` handler: whether `err` is libp2p refusing to
 * use a stream that is already closing or closed, thrown outside any call of ours. Then it is logged and the
 * process goes on (true); anything else is the caller's to end the process for (false).
 *
 * libp2p throws `StreamStateError` before it writes, reads or changes anything (@libp2p/utils 7.4
 * AbstractMessageStream `send`, `push`, `pause`, `resume`), and a failed write has already aborted its
 * connection, so nothing is left half done. The one cause seen, a relay's connection closed from under the
 * connections relayed over it, is avoided in relay.ts (closeRelayConnection); this keeps another like it
 * from ending the peer, and every window with it.
 */
export function survivesUncaught(err: unknown, log: Log): boolean {
  if (!(err instanceof Error) || err.name !== 'StreamStateError') return false
  log('warn', `libp2p used a closed stream outside any call; the peer goes on: ${err.stack ?? err.message}`)
  return true
}
