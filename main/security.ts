/**
 * The window policy: what a page may navigate to, open, ask for and load. Each handler takes the
 * Electron objects it acts on as parameters, so the policy is tested under plain Node with fakes.
 */
import type { HandlerDetails, Session, Shell, WebContents, WindowOpenHandlerResponse } from 'electron'
import { PAGE_SECURITY_HEADERS } from '../shared/csp.ts'
import { isAppUrl } from './app-url.ts'

/** Longest link we hand to the OS browser; real links are far shorter, a huge one is an attack. */
const MAX_EXTERNAL_URL_CHARS = 2048

/**
 * The one permission a page keeps: writing plain text to the clipboard ("copy invite link").
 * Chromium's sanitized write cannot carry files or HTML with script; reading stays denied.
 */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write'])

/** A link the OS browser may open: http(s) only, no credentials, bounded length. */
export function externalLinkTarget(url: unknown): string | null {
  if (typeof url !== 'string' || url.length > MAX_EXTERNAL_URL_CHARS) return null
  try {
    const u = new URL(url)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null
    if (u.username !== '' || u.password !== '') return null
    return u.href
  } catch {
    return null
  }
}

/** `setWindowOpenHandler`: never a new Electron window; http(s) links go to the OS browser. */
export function windowOpenHandler(shell: Pick<Shell, 'openExternal'>, onError: (err: unknown) => void = () => {}) {
  return (details: Pick<HandlerDetails, 'url'>): WindowOpenHandlerResponse => {
    const target = externalLinkTarget(details.url)
    if (target) shell.openExternal(target).catch(onError)
    return { action: 'deny' }
  }
}

/** `will-navigate` / `will-redirect` / `will-frame-navigate`: stay on the app's own pages. */
export function navigationGuard(onRefused: (url: string) => void = () => {}) {
  return (event: { url: string; preventDefault(): void }): void => {
    if (isAppUrl(event.url)) return
    event.preventDefault()
    onRefused(event.url)
  }
}

/** `setPermissionRequestHandler`: deny everything but the allow-list, and that only for our pages. */
export function permissionRequestHandler(onDenied: (permission: string, origin: string) => void = () => {}) {
  return (
    contents: Pick<WebContents, 'getURL'> | null,
    permission: string,
    callback: (granted: boolean) => void,
    details?: { requestingUrl?: string },
  ): void => {
    const url = details?.requestingUrl ?? contents?.getURL() ?? ''
    const granted = ALLOWED_PERMISSIONS.has(permission) && isAppUrl(url)
    if (!granted) onDenied(permission, url)
    callback(granted)
  }
}

/** `setPermissionCheckHandler`: the synchronous twin of the request handler. */
export function permissionCheckHandler() {
  return (_contents: unknown, permission: string, requestingOrigin: string): boolean =>
    ALLOWED_PERMISSIONS.has(permission) && isAppUrl(requestingOrigin)
}

/** Response headers for an app page: the CSP plus the headers that stop sniffing and framing (shared/csp.ts). */
export function securityHeaders(): Record<string, string> {
  return { ...PAGE_SECURITY_HEADERS }
}

type HeadersDetails = { url: string; responseHeaders?: Record<string, string | string[]> }
type HeadersResponse = { responseHeaders?: Record<string, string | string[]> }

/** `webRequest.onHeadersReceived`: our pages always carry our CSP, whatever served them. */
export function cspHeadersHandler() {
  return (details: HeadersDetails, callback: (response: HeadersResponse) => void): void => {
    if (!isAppUrl(details.url)) {
      callback({})
      return
    }
    const headers: Record<string, string | string[]> = {}
    // Drop any CSP already present (any casing) so ours is the only one in force.
    for (const [k, v] of Object.entries(details.responseHeaders ?? {})) {
      if (k.toLowerCase() !== 'content-security-policy') headers[k] = v
    }
    for (const [k, v] of Object.entries(securityHeaders())) headers[k] = [v]
    callback({ responseHeaders: headers })
  }
}

type SessionLike = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived'>
}

/** Applies the permission and header policy to a session (the default one holds every window). */
export function hardenSession(session: SessionLike, log: (message: string) => void): void {
  session.setPermissionRequestHandler(permissionRequestHandler((p, origin) => log(`denied permission "${p}" to ${origin}`)))
  session.setPermissionCheckHandler(permissionCheckHandler())
  session.webRequest.onHeadersReceived(cspHeadersHandler())
}

type WebContentsLike = {
  on(
    event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate',
    listener: (event: { url: string; preventDefault(): void }) => void,
  ): unknown
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void
}

/** Applies the navigation policy to every web contents the app creates (`web-contents-created`). */
export function hardenWebContents(contents: WebContentsLike, shell: Pick<Shell, 'openExternal'>, log: (message: string) => void): void {
  const guard = navigationGuard((url) => log(`refused navigation to ${url.slice(0, 200)}`))
  contents.on('will-navigate', guard)
  contents.on('will-redirect', guard)
  contents.on('will-frame-navigate', guard)
  // No <webview>: it would be a second, unhardened browser inside the window.
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(windowOpenHandler(shell, (err) => log(`could not open a link: ${String(err)}`)))
}

/** Every window's web preferences: the page gets no Node, its own JS world and Chromium's sandbox. */
export function secureWebPreferences(preload: string, dev: boolean) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    devTools: dev,
  } as const
}
