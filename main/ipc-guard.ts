/**
 * Every IPC message is checked to come from the main frame of one of our own windows, showing one
 * of our own pages, before it is handled (Fiddle's pattern). Anything else is dropped and logged.
 */
import { isAppUrl } from './app-url.ts'

/** What the guard reads from an `IpcMainEvent`. */
export interface IpcEventLike {
  sender: object
  senderFrame: { url: string; parent: unknown } | null
}

export interface SenderCheck {
  /** `BrowserWindow.fromWebContents`. */
  windowOf(sender: object): object | null
  /** The windows this app created (not devtools, not anything a page opened). */
  isOwnWindow(window: object): boolean
}

/** Why a sender is refused, or null when it is one of ours. */
export function refuseSender(event: IpcEventLike, check: SenderCheck): string | null {
  const frame = event.senderFrame
  // A frame that navigated away or was destroyed since it sent the message is not trusted.
  if (!frame) return 'sender frame is gone'
  if (frame.parent) return 'sender is a subframe'
  if (!isAppUrl(frame.url)) return `sender page is not ours (${String(frame.url).slice(0, 200)})`
  const win = check.windowOf(event.sender)
  if (!win || !check.isOwnWindow(win)) return 'sender is not one of our windows'
  return null
}

/** Wraps an `ipcMain.on` listener so that only our own windows reach it. */
export function guardIpc<E extends IpcEventLike, A extends unknown[]>(
  channel: string,
  check: SenderCheck,
  log: (message: string) => void,
  handler: (event: E, ...args: A) => void,
): (event: E, ...args: A) => void {
  return (event, ...args) => {
    const why = refuseSender(event, check)
    if (why) return log(`dropped IPC "${channel}": ${why}`)
    handler(event, ...args)
  }
}
