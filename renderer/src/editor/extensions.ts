/** The editor's look and behaviour, apart from the Automerge binding and teammates' cursors. */
import { EditorState, type Extension } from '@codemirror/state'
import { EditorView, drawSelection, highlightActiveLine, keymap, placeholder, type Command } from '@codemirror/view'
import { HighlightStyle, syntaxHighlighting, indentUnit } from '@codemirror/language'
import { markdown } from '@codemirror/lang-markdown'
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands'
import { search, searchKeymap } from '@codemirror/search'
import { tags as t } from '@lezer/highlight'

/** Colours come from CSS variables, so the editor follows the light and dark themes. */
const markdownHighlight = HighlightStyle.define([
  { tag: t.heading1, fontSize: '1.5em', fontWeight: '700', color: 'var(--md-heading)' },
  { tag: t.heading2, fontSize: '1.3em', fontWeight: '700', color: 'var(--md-heading)' },
  { tag: t.heading3, fontSize: '1.15em', fontWeight: '700', color: 'var(--md-heading)' },
  { tag: [t.heading4, t.heading5, t.heading6], fontWeight: '700', color: 'var(--md-heading)' },
  { tag: t.strong, fontWeight: '700' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strikethrough, textDecoration: 'line-through' },
  { tag: [t.link, t.url], color: 'var(--md-link)', textDecoration: 'underline' },
  { tag: t.monospace, fontFamily: 'var(--font-mono)', color: 'var(--md-code)' },
  { tag: t.quote, color: 'var(--text-muted)', fontStyle: 'italic' },
  { tag: [t.processingInstruction, t.meta, t.contentSeparator], color: 'var(--text-muted)' },
  { tag: t.list, color: 'var(--md-list)' },
])

const theme = EditorView.theme({
  '&': { height: '100%', color: 'var(--text)', backgroundColor: 'var(--bg-editor)', fontSize: '16px' },
  '.cm-scroller': { fontFamily: 'var(--font-text)', lineHeight: '1.6', padding: '24px 0' },
  '.cm-content': { maxWidth: '46em', margin: '0 auto', padding: '0 32px', caretColor: 'var(--accent)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
  '&.cm-focused': { outline: 'none' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'var(--selection) !important' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-placeholder': { color: 'var(--text-muted)' },
  '.cm-panels': { backgroundColor: 'var(--bg-panel)', color: 'var(--text)' },
  '.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--border)' },
  '.cm-searchMatch': { backgroundColor: 'var(--search-match)' },
  '.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: 'var(--search-match-current)' },
})

/**
 * Enter inserts a line break (lang-markdown's keymap, which runs first, continues lists and quotes).
 * Left to the browser, Enter in a contenteditable at the end of the text can insert two.
 */
const insertNewline: Command = (view) => {
  if (view.state.readOnly) return false
  view.dispatch(view.state.update(view.state.replaceSelection('\n'), { scrollIntoView: true, userEvent: 'input' }))
  return true
}

/** Above this, a paste goes in as several changes so that none is over the peer's size limit. */
const PASTE_CHUNK_CHARS = 50_000

/** Large pastes in pieces: one Automerge change per piece, each well under MAX_CHANGE_BYTES. */
const chunkedPaste = EditorView.domEventHandlers({
  paste(event, view) {
    const text = event.clipboardData?.getData('text/plain') ?? ''
    if (text.length <= PASTE_CHUNK_CHARS) return false
    event.preventDefault()
    const { from, to } = view.state.selection.main
    let at = from
    for (let i = 0; i < text.length; i += PASTE_CHUNK_CHARS) {
      const piece = text.slice(i, i + PASTE_CHUNK_CHARS)
      view.dispatch({
        changes: { from: at, to: i === 0 ? to : at, insert: piece },
        selection: { anchor: at + piece.length },
        userEvent: 'input.paste',
      })
      at += piece.length
    }
    return true
  },
})

export function baseExtensions(opts: { readOnly: boolean; label: string }): Extension[] {
  return [
    markdown(),
    syntaxHighlighting(markdownHighlight),
    indentUnit.of('  '),
    EditorView.lineWrapping,
    drawSelection(),
    highlightActiveLine(),
    placeholder(opts.readOnly ? '' : 'Start writing…'),
    theme,
    chunkedPaste,
    // Undo and redo of this person's own edits (teammates' changes are not undone), and the standard keys.
    history(),
    // Find and replace in this document (Mod-F; the panel at the top); a replacement is an edit like any other.
    search({ top: true }),
    keymap.of([{ key: 'Enter', run: insertNewline }, ...historyKeymap, ...searchKeymap, ...defaultKeymap]),
    EditorState.readOnly.of(opts.readOnly),
    EditorView.editable.of(!opts.readOnly),
    EditorView.contentAttributes.of({ 'aria-label': opts.label, 'aria-multiline': 'true', 'data-testid': 'editor-content' }),
  ]
}
