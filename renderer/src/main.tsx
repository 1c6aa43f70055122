/**
 * Boot, in order: listen for the peer's port and the shell's messages (before anything can miss
 * them), start loading the editor bundle, then render.
 */
import { createRoot } from 'react-dom/client'
import { StrictMode } from 'react'
import { connect } from './connection.ts'
import { bufferShellMessages } from './shell-messages.ts'
import { preloadEditor } from './editor/load.ts'
import { Root } from './ui/Root.tsx'
import './styles.css'

const shell = bufferShellMessages(window)
const connection = connect(window)
preloadEditor()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root connection={connection} shell={shell} />
  </StrictMode>,
)
