/**
 * The app's log: electron-log writing to a rotating file in the OS log folder
 * (~/Library/Logs/Grapevine on macOS, <userData>/logs elsewhere), the peer's lines included under
 * the "peer" scope. Call after the app's name and paths are set.
 */
import { renameSync } from 'node:fs'
import { join, parse } from 'node:path'
import { ipcMain } from 'electron'
import log from 'electron-log/main'

export type Logger = Pick<typeof log, 'debug' | 'info' | 'warn' | 'error'>
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Files kept besides the current one: main.1.log is the newest archive. */
const ARCHIVES = 3
const MAX_FILE_BYTES = 5 * 1024 * 1024
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error']
const ELECTRON_LOG_CHANNEL = '__ELECTRON_LOG__'

export function setupLog(logsDir: string): { log: Logger; peerLog: (level: LogLevel, message: string) => void; file: string } {
  const file = join(logsDir, 'main.log')
  const wanted = process.env['GRAPEVINE_LOG_LEVEL']
  const level = (wanted && LEVELS.includes(wanted) ? wanted : 'info') as LogLevel
  log.transports.file.resolvePathFn = () => file
  log.transports.file.level = level
  log.transports.file.maxSize = MAX_FILE_BYTES
  // Asynchronous appends: main drives every window and must not wait on the disk.
  log.transports.file.sync = false
  // Titles and names of teammates' documents appear in the log: this user only.
  log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' }
  log.transports.file.archiveLogFn = (current) => {
    try {
      rotate(current.path)
    } catch {
      // Could not rename (another process holds the file): start it afresh rather than grow forever.
      current.clear()
    }
  }
  log.transports.console.level = process.env['NODE_ENV'] === 'production' ? false : level
  log.errorHandler.startCatching({ showDialog: false })
  // Importing electron-log/main registers an IPC channel for renderer logging that checks no
  // sender. Our pages log nothing through main, so it goes: every IPC channel left is guarded.
  ipcMain.removeAllListeners(ELECTRON_LOG_CHANNEL)
  ipcMain.removeHandler(ELECTRON_LOG_CHANNEL)
  const peer = log.scope('peer')
  return {
    log,
    peerLog: (lvl, message) => peer[lvl](message),
    file,
  }
}

/** main.log → main.1.log → main.2.log …; the oldest falls off. */
function rotate(path: string): void {
  const { dir, name, ext } = parse(path)
  const nth = (n: number): string => join(dir, `${name}.${n}${ext}`)
  for (let n = ARCHIVES - 1; n >= 1; n--) {
    try {
      renameSync(nth(n), nth(n + 1))
    } catch {
      // that generation does not exist yet
    }
  }
  renameSync(path, nth(1))
}
