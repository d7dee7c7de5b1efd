// render.js: draws the state on the page: the WebSocket and registration
// pills, the call bar, which buttons are shown and enabled, the title.
import { $ } from './dom.js';
import { state, live } from './state.js';
import { loadSettings } from './settings.js';

function setPill(el, text, kind) {
  el.textContent = text;
  el.dataset.state = kind;
}

export function render() {
  const wsText = { off: 'WS: off', connecting: 'WS: connecting', connected: 'WS: connected', disconnected: 'WS: lost' }[state.ws];
  const wsKind = { off: 'off', connecting: 'busy', connected: 'ok', disconnected: 'bad' }[state.ws];
  setPill($('ws-pill'), wsText, wsKind);
  const regText = { unregistered: 'Not registered', registering: 'Registering…', registered: `Registered as ${loadSettings().user}`, failed: 'Registration failed' }[state.registration];
  const regKind = { unregistered: 'off', registering: 'busy', registered: 'ok', failed: 'bad' }[state.registration];
  setPill($('reg-pill'), regText, regKind);

  const active = live.session !== null && state.call !== 'incoming';
  const callText = { idle: 'Idle', calling: 'Calling…', ringing: 'Ringing…', incoming: 'Incoming call', 'in-call': 'In call', 'on-hold': 'On hold', ended: 'Call ended' }[state.call];
  $('call-state').textContent = callText;
  $('call-peer').textContent = state.peer;
  $('call').hidden = active;
  $('hangup').hidden = !active;
  $('call').disabled = live.ua === null || state.call === 'incoming';
  const established = state.call === 'in-call' || state.call === 'on-hold';
  $('mute').disabled = !established;
  $('hold').disabled = !established;
  $('mute').setAttribute('aria-pressed', String(state.muted));
  $('mute').textContent = state.muted ? 'Unmute' : 'Mute';
  $('hold').setAttribute('aria-pressed', String(state.held));
  $('hold').textContent = state.held ? 'Resume' : 'Hold';
  $('incoming').hidden = state.call !== 'incoming';
  $('incoming-from').textContent = state.call === 'incoming' ? state.peer : '';
  $('register').textContent = live.ua ? 'Save & re-register' : 'Register';
  $('unregister').disabled = live.ua === null;
  document.title = state.call === 'incoming' ? '📞 Incoming call – sipedge' : 'sipedge softphone';
}
