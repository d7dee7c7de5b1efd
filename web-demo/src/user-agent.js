// user-agent.js: the JsSIP user agent: the WebSocket to sipedge, the
// registration (with this browser's +sip.instance), their state and
// messages, and handing incoming calls over to call control.
import * as JsSIP from 'jssip/lib/JsSIP.js';
import { state, live } from './state.js';
import { instanceId } from './instance-id.js';
import { render } from './render.js';
import { showMessage, clearMessage, shownKind } from './messages.js';
import { regFailureText } from './failure-text.js';
import { ringIncoming } from './call-control.js';

export function stopUA() {
  if (!live.ua) return;
  const old = live.ua;
  live.ua = null;
  old.removeAllListeners();
  old.stop();
  state.ws = 'off';
  state.registration = 'unregistered';
}

// startUA (re)starts the user agent with settings s and registers.
export function startUA(s) {
  stopUA();
  JsSIP.debug.disable('JsSIP:*');
  let socket;
  try {
    socket = new JsSIP.WebSocketInterface(s.wsUrl);
  } catch (err) {
    showMessage(`The WebSocket URL is not valid: ${err.message || err}`);
    return;
  }
  try {
    live.ua = new JsSIP.UA({
      sockets: [socket],
      uri: `sip:${s.user}@${s.domain}`,
      password: s.password,
      display_name: s.displayName || undefined,
      instance_id: instanceId(),
      register: true,
      register_expires: 300,
      session_timers: false,
      user_agent: 'sipedge-demo (JsSIP 3.13)',
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
  } catch (err) {
    live.ua = null;
    showMessage(`Settings are not valid: ${err.parameter ? `${err.parameter} ` : ''}${err.message || err}`);
    render();
    return;
  }
  const me = live.ua;
  const current = () => live.ua === me;
  me.on('connecting', () => { if (!current()) return; state.ws = 'connecting'; render(); });
  me.on('connected', () => {
    if (!current()) return;
    const wasLost = state.ws === 'disconnected';
    state.ws = 'connected';
    state.registration = 'registering';
    if (wasLost) showMessage('Connection restored; registering again.', 'info');
    render();
  });
  me.on('disconnected', (ev) => {
    if (!current()) return;
    state.ws = 'disconnected';
    if (state.registration === 'registered' || state.registration === 'registering') state.registration = 'unregistered';
    const code = ev && ev.code ? ` (close code ${ev.code})` : '';
    showMessage(`WebSocket connection to ${s.wsUrl} lost${code}. Reconnecting automatically…`);
    render();
  });
  me.on('registered', () => {
    if (!current()) return;
    state.registration = 'registered';
    if (shownKind() === 'info') clearMessage();
    if (state.lastError.startsWith('WebSocket')) { clearMessage(); state.lastError = ''; }
    render();
  });
  me.on('unregistered', () => { if (!current()) return; state.registration = 'unregistered'; render(); });
  me.on('registrationFailed', (ev) => {
    if (!current()) return;
    state.registration = 'failed';
    showMessage(regFailureText(ev));
    render();
  });
  me.on('newRTCSession', (ev) => {
    if (!current() || ev.originator !== 'remote') return;
    ringIncoming(ev.session);
  });
  state.ws = 'connecting';
  state.registration = 'registering';
  me.start();
  render();
}

// unregister sends an un-REGISTER and then stops the user agent.
export function unregister() {
  if (!live.ua) return;
  const me = live.ua;
  me.unregister({ all: false });
  // Give the un-REGISTER a moment to leave before closing the socket.
  setTimeout(() => { if (live.ua === me) { stopUA(); render(); } }, 500);
  state.registration = 'unregistered';
  render();
}

// stopForUnload closes the WebSocket when the page goes away.
export function stopForUnload() {
  if (live.ua) live.ua.stop();
}
