// messages.js: the message bar under the header: errors and notices for
// the user. The last error is kept in state.lastError.
import { $ } from './dom.js';
import { state } from './state.js';

export function showMessage(text, kind = 'error') {
  const box = $('message');
  $('message-text').textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  if (kind === 'error') state.lastError = text;
}

export function clearMessage() {
  $('message').hidden = true;
}

// shownKind returns the kind of the message on screen, '' when none is.
export function shownKind() {
  const box = $('message');
  return box.hidden ? '' : box.dataset.kind;
}
