// call-control.js: what the user does to a call: call, answer, reject, hang
// up, mute, hold and DTMF (SIP INFO); and ringing an incoming call.
import { $ } from './dom.js';
import { state, live } from './state.js';
import { loadSettings } from './settings.js';
import { render } from './render.js';
import { showMessage, clearMessage } from './messages.js';
import { unlockAudio } from './meters.js';
import { openMic, closeMic } from './microphone.js';
import { pcConfig, watchPeerConnection } from './peer-connection.js';
import { bindSession } from './session.js';

// target turns what was dialled (600, bob@example.org, sip:…) into a SIP URI.
function target(raw) {
  const t = raw.trim();
  if (/^sips?:/i.test(t)) return t;
  if (t.includes('@')) return `sip:${t}`;
  return `sip:${t}@${loadSettings().domain}`;
}

// openingMic is true while a call or an answer waits for the microphone, so
// a second click does not open a second one.
let openingMic = false;

function established() {
  return state.call === 'in-call' || state.call === 'on-hold';
}

// call places a call to the number in #number.
export async function call() {
  const raw = $('number').value.trim();
  if (!live.ua || !raw || live.session || openingMic) return;
  clearMessage();
  unlockAudio();
  let stream;
  openingMic = true;
  try {
    stream = await openMic();
  } catch {
    return;
  } finally {
    openingMic = false;
  }
  // Unregistered, or a call came in, while the microphone was opening.
  if (!live.ua || live.session) {
    closeMic();
    return;
  }
  state.call = 'calling';
  render();
  try {
    const sess = live.ua.call(target(raw), {
      mediaStream: stream,
      pcConfig: pcConfig(),
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    });
    bindSession(sess, 'out', raw);
    // JsSIP creates the RTCPeerConnection inside call(), before the
    // 'peerconnection' event could be bound on the returned session.
    if (sess.connection) watchPeerConnection(sess.connection);
    render();
  } catch (err) {
    closeMic();
    state.call = 'idle';
    showMessage(`Cannot place the call: ${err.message || err}`);
    render();
  }
}

// ringIncoming offers an incoming session to the user, or answers 486 when
// a call is already going on.
export function ringIncoming(sess) {
  if (live.session) {
    sess.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
    return;
  }
  const from = sess.remote_identity;
  const peer = from.display_name ? `${from.display_name} <${from.uri.user}>` : `${from.uri.user}@${from.uri.host}`;
  bindSession(sess, 'in', peer);
  state.call = 'incoming';
  render();
}

export async function answer() {
  const sess = live.session;
  if (!sess || state.call !== 'incoming' || openingMic) return;
  unlockAudio();
  let stream;
  openingMic = true;
  try {
    stream = await openMic();
  } catch {
    if (!sess.isEnded()) sess.terminate({ status_code: 480, reason_phrase: 'Microphone Unavailable' });
    return;
  } finally {
    openingMic = false;
  }
  // The caller may have given up while the microphone was opening.
  if (live.session !== sess || sess.isEnded()) {
    closeMic();
    return;
  }
  state.call = 'calling';
  render();
  sess.answer({ mediaStream: stream, pcConfig: pcConfig() });
}

export function reject() {
  if (live.session && state.call === 'incoming') live.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
}

export function hangup() {
  if (!live.session) return;
  try {
    live.session.terminate();
  } catch (err) {
    live.session = null;
    state.call = 'idle';
    render();
  }
}

export function toggleMute() {
  if (!live.session) return;
  if (state.muted) live.session.unmute({ audio: true });
  else live.session.mute({ audio: true });
}

export function toggleHold() {
  if (!live.session) return;
  if (state.held) live.session.unhold();
  else live.session.hold();
}

// sendDTMF sends key as SIP INFO when a call is established.
export function sendDTMF(key) {
  if (!live.session || !established()) return;
  try {
    live.session.sendDTMF(key, { transportType: 'INFO', duration: 100 });
  } catch (err) {
    showMessage(`Cannot send DTMF: ${err.message || err}`);
  }
}
