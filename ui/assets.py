"""The page's CSS and the few lines of JavaScript that make citations clickable.

Kept as Python strings so they ship with the package without package-data settings.
"""

from __future__ import annotations

# Runs once when the conversation is mounted (gr.HTML's js_on_load). One listener on the
# container handles every citation button, including those of answers added later;
# `trigger('cite', ...)` becomes the Python event `conversation.cite` with this data.
CONVERSATION_JS = """
// Gradio leaves some of its own labels untranslated ("common.upload" on the upload box's
// button, read out by screen readers and shown as its tooltip): plain words instead.
const PLAIN_LABELS = {'common.upload': 'Upload more files', 'common.clear': 'Clear',
                      'common.download': 'Download', 'common.remove': 'Remove'};
const plainLabels = (root) => root.querySelectorAll('[aria-label^="common."], [title^="common."]')
  .forEach((node) => ['aria-label', 'title'].forEach((name) => {
    const key = node.getAttribute(name);
    if (key && key.startsWith('common.')) node.setAttribute(name, PLAIN_LABELS[key] || '');
  }));
// Nor does it say whether the Documents panel is open, and it reads its arrow out, and the
// "Search only in" boxes are a group without a name: screen readers are told.
const accessible = (root) => {
  root.querySelectorAll('#documents button.label-wrap').forEach((button) => {
    const open = String(button.classList.contains('open'));
    if (button.getAttribute('aria-expanded') !== open) button.setAttribute('aria-expanded', open);
    const arrow = button.querySelector('.icon');
    if (arrow && arrow.getAttribute('aria-hidden') !== 'true') arrow.setAttribute('aria-hidden', 'true');
  });
  const scope = root.querySelector('#scope');
  const name = scope && scope.querySelector('[data-testid="block-info"]');
  if (name) {
    if (!name.id) name.id = 'scope-name';
    if (scope.getAttribute('aria-labelledby') !== name.id) scope.setAttribute('aria-labelledby', name.id);
  }
};
new MutationObserver(() => { plainLabels(document); accessible(document); }).observe(
  document.body, {subtree: true, childList: true, attributes: true,
                  attributeFilter: ['aria-label', 'title', 'class']});
plainLabels(document);
accessible(document);
// The question as it stands when Enter goes down (see TAKE_QUESTION_JS in ui/blocks.py).
// Only a plain Enter in the box submits (not Ctrl/Alt/Meta+Enter, nor Enter on the button).
document.addEventListener('keydown', (event) => {
  const box = event.target;
  if (event.key === 'Enter' && !event.shiftKey && !event.ctrlKey && !event.altKey
      && !event.metaKey && !event.isComposing && event.keyCode !== 229
      && box.tagName === 'TEXTAREA' && box.closest('#question')) {
    window.briefingAsked = box.value;
  }
}, true);
// What is typed and not yet asked outlives a reload (restored by KEPT_JS in ui/blocks.py).
document.addEventListener('input', (event) => {
  const box = event.target;
  if (box.tagName === 'TEXTAREA' && box.closest('#question')) {
    try { sessionStorage.setItem('briefing-draft', box.value); } catch (error) {}
  }
}, true);
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-doc]');
  if (!button || !element.contains(button)) return;
  const d = button.dataset;
  window.briefingCitation = button;  // where the viewer's "Back to the answer" returns
  trigger('cite', {doc: d.doc, start: Number(d.start), end: Number(d.end),
                   pstart: Number(d.pstart), pend: Number(d.pend),
                   closest: d.closest === '1'});
});
// Screen readers are told of each reply: the conversation is drawn anew each time, so the
// announcement lives in an element of its own that stays.
const live = document.getElementById('briefing-live') || document.body.appendChild(
  Object.assign(document.createElement('p'), {id: 'briefing-live', className: 'sr-only'}));
live.setAttribute('role', 'status');
live.setAttribute('aria-live', 'polite');
const announce = (turn) => {
  if (!turn || turn.querySelector('.pending')) return;
  const refused = turn.querySelector('.no-answer, .answer.error');
  const quote = turn.querySelector('.quote mark');
  const said = refused ? refused.innerText
    : quote ? 'Answer: ' + quote.innerText.slice(0, 300) : '';
  if (said && live.textContent !== said) live.textContent = said;
};
watch('value', () => {
  // Show the newest question at the top of the chat, not the bottom of its answer.
  const box = element.querySelector('.conversation');
  const turns = element.querySelectorAll('.turn');
  const last = turns[turns.length - 1];
  announce(last);
  if (!box || !last) return;
  if (box.scrollHeight > box.clientHeight + 1) {
    box.scrollTop = last.offsetTop - 4;
  } else {
    const top = last.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.6) window.scrollBy(0, top - 8);
  }
});
"""

# Scrolls the document to the highlighted sentence whenever the viewer gets a new value,
# and brings the viewer itself into sight when it sits below the chat (phones, narrow
# windows), where its "Back to the answer" button shows.
VIEWER_JS = """
const showBack = () => {
  const chat = document.querySelector('#chat-column');
  const viewer = document.querySelector('#viewer-column');
  const stacked = chat && viewer
      && viewer.getBoundingClientRect().left < chat.getBoundingClientRect().right - 1;
  // Side by side, it is there for the keyboard only: it shows when it has the focus
  // (Shift+Tab from the document's title), as a skip link does.
  element.querySelectorAll('.back-to-chat').forEach((b) => {
    b.style.display = 'inline-block';
    b.classList.toggle('skip', !stacked);
  });
};
window.addEventListener('resize', showBack);
element.addEventListener('click', (event) => {
  if (!event.target.closest('.back-to-chat')) return;
  const cited = window.briefingCitation;
  const target = cited && cited.isConnected ? cited : document.querySelector('#question');
  target.scrollIntoView({block: 'center'});
  target.focus({preventScroll: true});
});
watch('value', () => {
  showBack();
  const box = element.querySelector('.doc-text');
  const mark = element.querySelector('mark.hl') || element.querySelector('.passage');
  if (box && mark) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  const top = element.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.5) element.scrollIntoView({block: 'start'});
  // Opened from the keyboard, the document takes the focus (its title is read out).
  const head = element.querySelector('.viewer-head h3');
  if (head && document.activeElement && document.activeElement.closest('.cite, .source')) {
    head.tabIndex = -1;
    head.focus({preventScroll: true});
  }
});
"""

CSS = """
/* As wide as the page allows from the start: shrunk to its content, the page moved sideways
   when the first answer widened it, and again when a scroll bar came. */
.gradio-container { max-width: 1400px !important; width: 100% !important;
                    margin-left: auto !important; margin-right: auto !important; }
html { scrollbar-gutter: stable; }
/* Gradio's footer puts a separator after "Use via API" for links it does not show. */
footer .divider { display: none; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
           overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
/* Gradio's subdued grey is 2.5:1 on white: quotes shown as closest passages, labels and
   placeholders are read, so they get WCAG's 4.5:1 at least (gray-600: 7.6:1). */
body:not(.dark) .gradio-container { --body-text-color-subdued: #4b5563;
                                    --input-placeholder-color: #6b7280;
                                    /* a checkbox's edge at 1.05:1 is invisible: gray-500 */
                                    --checkbox-border-color: #6b7280;
                                    --checkbox-border-color-hover: #4b5563;
                                    --checkbox-border-color-focus: #1d4ed8; }
.dark .gradio-container { --body-text-color-subdued: #d1d5db; --input-placeholder-color: #9ca3af; }
/* Gradio's text box shows no focus ring of its own: keyboard users must see where they are. */
#question textarea:focus-visible { outline: 2px solid var(--color-accent) !important;
                                   outline-offset: 1px; }
/* Citations are links to read: blue-700 (6.7:1 on white) rather than the accent (3.7:1). */
body:not(.dark) .gradio-container button.cite,
body:not(.dark) .gradio-container button.source { color: #1d4ed8; }
#header h1 { margin: 0; font-size: 1.6rem; }
#header p { margin: 0.2rem 0 0; color: var(--body-text-color-subdued); }
#viewer-column { position: sticky; top: 0.5rem; align-self: flex-start; }

.conversation { max-height: 62vh; overflow-y: auto; position: relative; padding: 0.25rem;
                overflow-wrap: anywhere; }
.conversation .empty, .viewer .empty { color: var(--body-text-color-subdued); margin: 1rem 0.5rem; }
.turn { margin: 0 0 1.25rem; }
.question { margin: 0 0 0.5rem auto; max-width: 85%; width: fit-content;
            background: var(--color-accent-soft); border-radius: 0.75rem; padding: 0.5rem 0.8rem; }
.question .who { display: block; font-size: 0.75rem; font-weight: 600;
                 color: var(--body-text-color-subdued); }
.question p { margin: 0; white-space: pre-wrap; }
.answer { border: 1px solid var(--border-color-primary); border-radius: 0.75rem;
          padding: 0.6rem 0.8rem; background: var(--block-background-fill); }
.answer.error { border-color: #d97706; background: #fffbeb; color: #78350f; }
.pending { font-size: 0.9rem; color: var(--body-text-color-subdued); padding: 0.2rem 0.8rem; }
.answer .searched { font-size: 0.85rem; color: var(--body-text-color-subdued); margin: 0 0 0.4rem; }
.answer .no-answer { font-weight: 600; margin: 0 0 0.3rem; }
.answer .closest-label { font-size: 0.85rem; color: var(--body-text-color-subdued); margin: 0 0 0.3rem; }
.quotes { list-style: none; margin: 0; padding: 0; }
.quote { margin: 0 0 0.6rem; }
.quote blockquote { margin: 0; padding: 0.1rem 0 0.1rem 0.7rem; white-space: pre-wrap;
                    border-left: 3px solid var(--border-color-primary);
                    color: var(--body-text-color-subdued); font-style: normal; }
.abstained .quote blockquote { font-size: 0.9rem; }
.quote mark, .doc-text mark.hl { background: #fde68a; color: #1f2937; border-radius: 2px;
                                 padding: 0 1px; }
.quote mark { font-weight: 500; }
.whole-question summary { cursor: pointer; font-size: 0.85rem; }
.whole-question[open] .when-closed, .whole-question:not([open]) .when-open { display: none; }
.question p:has(+ .whole-question[open]) { display: none; }  /* the cut one, once opened */
.whole-question p { white-space: pre-wrap; }
.doc-text mark.hl.closest { background: #e5e7eb; }
button.cite { border: none; background: none; color: var(--color-accent); font-weight: 600;
              cursor: pointer; padding: 0 0.15rem; font-size: 0.9em; }
button.cite:hover, button.source:hover { text-decoration: underline; }
.sources { border-top: 1px solid var(--border-color-primary); margin-top: 0.4rem; padding-top: 0.4rem;
           font-size: 0.85rem; }
.sources-title { font-weight: 600; }
.sources ol { list-style: none; margin: 0.2rem 0 0; padding: 0; }
button.source { border: none; background: none; color: var(--color-accent); cursor: pointer;
                padding: 0.1rem 0; text-align: left; font-size: inherit; }
.also-in { margin-left: 0.2rem; color: var(--body-text-color-subdued); }

.viewer-head h3 { margin: 0; font-size: 1.05rem; overflow-wrap: anywhere; }
/* A title without spaces (a long file name) wraps in the pickers too, not off the page. */
#scope label, #scope label span, #remove-pick, #upload .file-name { overflow-wrap: anywhere;
                                                                    min-width: 0; }
#scope label { max-width: 100%; }
/* Below the chat (phones, narrow windows) the viewer has a way back up to the answer;
   VIEWER_JS shows it whenever the columns are stacked. */
.back-to-chat { display: none; margin: 0 0 0.5rem; padding: 0.3rem 0.7rem;
                border: 1px solid var(--border-color-primary); border-radius: 0.5rem;
                background: var(--block-background-fill); font-size: 0.85rem; }
.back-to-chat.skip:not(:focus) { position: absolute; width: 1px; height: 1px; padding: 0;
                                 overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
                                 border: 0; }
.viewer-head .meta { margin: 0.1rem 0 0.5rem; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.doc-text { position: relative; max-height: 70vh; overflow-y: auto; white-space: pre-wrap;
            overflow-wrap: anywhere; line-height: 1.55; font-size: 0.92rem; padding: 0.5rem;
            border: 1px solid var(--border-color-primary); border-radius: 0.5rem; }
.doc-text .passage { background: var(--color-accent-soft); }
.doc-text .page-label { display: block; margin: 0.8rem 0 0.3rem; font-size: 0.75rem;
                        font-weight: 600; color: var(--body-text-color-subdued);
                        border-bottom: 1px dashed var(--border-color-primary); }

table.documents { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
table.documents th, table.documents td { text-align: left; padding: 0.3rem 0.4rem;
                                         border-bottom: 1px solid var(--border-color-primary); }
table.documents .n { white-space: nowrap; }
/* A title without spaces (a long file name) wraps instead of pushing the counts out. */
table.documents td:first-child { overflow-wrap: anywhere; }
table.documents .tag { font-size: 0.7rem; padding: 0 0.3rem; border-radius: 0.3rem;
                       background: var(--color-accent-soft); }
.shared-note { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 0.2rem 0 0; }
/* Upload progress is drawn in the message area: room for its bar and counts. */
#doc-status { min-height: 4.5rem; }
.status p { margin: 0.2rem 0; overflow-wrap: anywhere; }  /* a 200-character file name wraps */
.status .bad { color: #b45309; }
.status .earlier { opacity: 0.6; }
#examples button { flex: 0 1 auto; }

@media (max-width: 720px) {
  .conversation { max-height: none; }
  #viewer-column { position: static; }
  .doc-text { max-height: 60vh; }
  .back-to-chat { display: inline-block; }
  .question { max-width: 100%; }
  table.documents td:nth-child(3), table.documents th:nth-child(3) { display: none; }
}
"""

# Gradio scopes `css` to the app's content; these rules reach the page around it (phones).
# The container clips sideways instead of hiding overflow, which would stop `sticky`.
HEAD = """<style>
@media (max-width: 720px) {
  .gradio-container { overflow-x: clip !important; overflow-y: visible !important; }
  .gradio-container .main { padding-left: 10px !important; padding-right: 10px !important; }
  /* The question box stays at hand below a long conversation. */
  .form:has(#question) { position: sticky; bottom: 0; z-index: 5;
                         box-shadow: 0 -4px 12px rgba(0, 0, 0, 0.08); }
}
</style>"""
