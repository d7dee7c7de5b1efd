// dial-pad.js: the dial pad and the number field: a key sends DTMF during
// a call and adds a digit otherwise; backspace removes one.
import { $ } from './dom.js';
import { live } from './state.js';
import { sendDTMF } from './call-control.js';

export function pressKey(key) {
  sendDTMF(key);
  if (!live.session) $('number').value += key;
}

export function backspace() {
  const n = $('number');
  n.value = n.value.slice(0, -1);
}
