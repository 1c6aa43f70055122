/**
 * A `FrameChannel` over an Electron `MessagePortMain`, for main's own client of the peer
 * (notifications and the badge): the one port adapter every host uses (shared/port-channel.ts).
 */
export { portChannel } from '../shared/port-channel.ts'
