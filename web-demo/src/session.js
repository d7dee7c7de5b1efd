// session.js: follows one JsSIP call session from start to end: its events
// move the call state, start and stop the timer, and at the end close the
// media, write the call log and explain a failed outgoing call.
import { state, live } from './state.js';
import { render } from './render.js';
import { showMessage } from './messages.js';
import { callFailureText } from './failure-text.js';
import { startTimer, stopTimer, elapsedMs } from './call-timer.js';
import { addLog } from './call-log.js';
import { closeMic } from './microphone.js';
import { stopRemote } from './remote-audio.js';
import { iceTimeout, watchPeerConnection } from './peer-connection.js';

// bindSession makes sess the current call; direction is 'in' or 'out'.
export function bindSession(sess, direction, peer) {
  live.session = sess;
  live.pc = null;
  state.peer = peer;
  state.direction = direction;
  state.muted = false;
  state.held = false;
  state.lastCause = '';
  let answered = false;
  const startedAt = Date.now();
  iceTimeout(sess);
  sess.on('peerconnection', (ev) => watchPeerConnection(ev.peerconnection));
  sess.on('peerconnection:setremotedescriptionfailed', (err) => {
    console.error('setRemoteDescription failed:', err && err.message ? err.message : err);
    showMessage(`The browser refused the other side's audio description: ${err && err.message ? err.message : err}`);
  });
  sess.on('progress', () => {
    if (direction === 'out') { state.call = 'ringing'; render(); }
  });
  sess.on('accepted', () => {
    answered = true;
    state.call = 'in-call';
    startTimer();
    render();
  });
  sess.on('confirmed', () => {
    if (!answered) { answered = true; startTimer(); }
    state.call = state.held ? 'on-hold' : 'in-call';
    render();
  });
  sess.on('hold', (ev) => {
    if (ev.originator === 'local') state.held = true;
    state.call = 'on-hold';
    render();
  });
  sess.on('unhold', (ev) => {
    if (ev.originator === 'local') state.held = false;
    state.call = state.held ? 'on-hold' : 'in-call';
    render();
  });
  sess.on('muted', () => { state.muted = true; render(); });
  sess.on('unmuted', () => { state.muted = false; render(); });
  const finish = (ev, ok) => {
    stopTimer();
    closeMic();
    stopRemote();
    state.lastCause = ev.cause || '';
    const result = ok ? 'ended' : (ev.cause || 'failed');
    addLog({ direction, peer, at: startedAt, answered, durationMs: answered ? elapsedMs() : 0, result });
    if (!ok) {
      const text = direction === 'out' ? callFailureText(ev, peer) : '';
      if (text) showMessage(text);
    }
    if (live.session === sess) live.session = null;
    state.call = 'ended';
    state.muted = false;
    state.held = false;
    render();
  };
  sess.on('ended', (ev) => finish(ev, true));
  sess.on('failed', (ev) => finish(ev, false));
}
