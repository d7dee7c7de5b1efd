// sipedge demo softphone: JsSIP over WebSocket to sipedge, media through
// rtpengine. Bundled by build.mjs (esbuild) into dist/app.js.
import * as JsSIP from 'jssip/lib/JsSIP.js';

const $ = (id) => document.getElementById(id);
const STORE = 'sipedge.demo.settings';
const LOG_STORE = 'sipedge.demo.calllog';
const INSTANCE_STORE = 'sipedge.demo.instance';
const ICE_WAIT_MS = 1000; // longest wait for ICE gathering once a candidate is known
const ICE_HOST_ONLY_MS = 250; // without STUN, host candidates come in one burst

// ---------- settings ----------

function defaults() {
  return {
    wsUrl: `wss://${location.host}/ws`,
    user: '',
    password: '',
    domain: location.hostname,
    displayName: '',
    stunUrl: '',
    voiceProcessing: true,
  };
}

function loadSettings() {
  try {
    return { ...defaults(), ...JSON.parse(localStorage.getItem(STORE) || '{}') };
  } catch {
    return defaults();
  }
}

function saveSettings(s) {
  localStorage.setItem(STORE, JSON.stringify(s));
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// instanceId is kept across reloads so the registrar (RFC 5626) replaces
// this browser's old binding instead of adding one per page load.
function instanceId() {
  let id = localStorage.getItem(INSTANCE_STORE);
  if (!id) {
    id = uuid();
    localStorage.setItem(INSTANCE_STORE, id);
  }
  return id;
}

const form = $('settings');

function fillForm(s) {
  for (const [k, v] of Object.entries(s)) {
    const el = form.elements.namedItem(k);
    if (!el) continue;
    if (el.type === 'checkbox') el.checked = !!v;
    else el.value = v;
  }
}

function readForm() {
  const s = loadSettings();
  for (const k of Object.keys(defaults())) {
    const el = form.elements.namedItem(k);
    if (!el) continue;
    s[k] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return s;
}

// ---------- state and UI ----------

const state = {
  ws: 'off', // off | connecting | connected | disconnected
  registration: 'unregistered', // unregistered | registering | registered | failed
  call: 'idle', // idle | calling | ringing | incoming | in-call | on-hold | ended
  muted: false,
  held: false,
  peer: '',
  lastError: '',
  lastCause: '',
  direction: '',
};

let ua = null;
let session = null; // the current JsSIP RTCSession
let pc = null; // its RTCPeerConnection
let localStream = null;
let callStart = 0;
let timerId = 0;

function showMessage(text, kind = 'error') {
  const box = $('message');
  $('message-text').textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  if (kind === 'error') state.lastError = text;
}

function clearMessage() {
  $('message').hidden = true;
}

$('message-close').addEventListener('click', clearMessage);

function setPill(el, text, kind) {
  el.textContent = text;
  el.dataset.state = kind;
}

function render() {
  const wsText = { off: 'WS: off', connecting: 'WS: connecting', connected: 'WS: connected', disconnected: 'WS: lost' }[state.ws];
  const wsKind = { off: 'off', connecting: 'busy', connected: 'ok', disconnected: 'bad' }[state.ws];
  setPill($('ws-pill'), wsText, wsKind);
  const regText = { unregistered: 'Not registered', registering: 'Registering…', registered: `Registered as ${loadSettings().user}`, failed: 'Registration failed' }[state.registration];
  const regKind = { unregistered: 'off', registering: 'busy', registered: 'ok', failed: 'bad' }[state.registration];
  setPill($('reg-pill'), regText, regKind);

  const active = session !== null && state.call !== 'incoming';
  const callText = { idle: 'Idle', calling: 'Calling…', ringing: 'Ringing…', incoming: 'Incoming call', 'in-call': 'In call', 'on-hold': 'On hold', ended: 'Call ended' }[state.call];
  $('call-state').textContent = callText;
  $('call-peer').textContent = state.peer;
  $('call').hidden = active;
  $('hangup').hidden = !active;
  $('call').disabled = ua === null || state.call === 'incoming';
  const established = state.call === 'in-call' || state.call === 'on-hold';
  $('mute').disabled = !established;
  $('hold').disabled = !established;
  $('mute').setAttribute('aria-pressed', String(state.muted));
  $('mute').textContent = state.muted ? 'Unmute' : 'Mute';
  $('hold').setAttribute('aria-pressed', String(state.held));
  $('hold').textContent = state.held ? 'Resume' : 'Hold';
  $('incoming').hidden = state.call !== 'incoming';
  $('register').textContent = ua ? 'Save & re-register' : 'Register';
  $('unregister').disabled = ua === null;
  document.title = state.call === 'incoming' ? '📞 Incoming call – sipedge' : 'sipedge softphone';
}

function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function startTimer() {
  callStart = Date.now();
  clearInterval(timerId);
  timerId = setInterval(() => {
    $('call-timer').textContent = fmtDuration(Date.now() - callStart);
  }, 500);
}

function stopTimer() {
  clearInterval(timerId);
  timerId = 0;
}

// ---------- call log ----------

function loadLog() {
  try {
    return JSON.parse(localStorage.getItem(LOG_STORE) || '[]');
  } catch {
    return [];
  }
}

function addLog(entry) {
  const log = [entry, ...loadLog()].slice(0, 30);
  localStorage.setItem(LOG_STORE, JSON.stringify(log));
  renderLog();
}

function renderLog() {
  const list = $('log');
  const log = loadLog();
  list.replaceChildren(
    ...log.map((e) => {
      const li = document.createElement('li');
      const dir = document.createElement('span');
      dir.className = 'dir';
      dir.textContent = e.direction === 'in' ? '↙' : '↗';
      dir.title = e.direction === 'in' ? 'incoming' : 'outgoing';
      const who = document.createElement('span');
      who.textContent = e.peer;
      const dur = document.createElement('span');
      dur.textContent = e.answered ? fmtDuration(e.durationMs) : '';
      const meta = document.createElement('span');
      meta.className = 'meta' + (e.answered ? '' : ' bad');
      meta.textContent = `${new Date(e.at).toLocaleString()} · ${e.result}`;
      li.append(dir, who, dur, meta);
      return li;
    }),
  );
  $('log-empty').hidden = log.length > 0;
}

$('log-clear').addEventListener('click', () => {
  localStorage.removeItem(LOG_STORE);
  renderLog();
});

// ---------- audio meters ----------

let audioCtx = null;
const meters = { local: null, remote: null, levels: { local: 0, remote: 0 } };

function ctx() {
  if (!audioCtx) audioCtx = new AudioContext();
  if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

function attachMeter(which, stream) {
  detachMeter(which);
  if (!stream || stream.getAudioTracks().length === 0) return;
  const src = ctx().createMediaStreamSource(stream);
  const analyser = audioCtx.createAnalyser();
  analyser.fftSize = 1024;
  src.connect(analyser);
  meters[which] = { src, analyser, buf: new Float32Array(analyser.fftSize) };
}

function detachMeter(which) {
  const m = meters[which];
  if (m) m.src.disconnect();
  meters[which] = null;
  meters.levels[which] = 0;
}

function tick() {
  for (const which of ['local', 'remote']) {
    const m = meters[which];
    let level = 0;
    if (m) {
      m.analyser.getFloatTimeDomainData(m.buf);
      let sum = 0;
      for (const v of m.buf) sum += v * v;
      level = Math.sqrt(sum / m.buf.length); // RMS, 0..1
    }
    meters.levels[which] = level;
    const pct = Math.min(100, Math.round(Math.sqrt(level) * 140));
    const el = $(`meter-${which}`);
    el.style.width = `${pct}%`;
    el.parentElement.setAttribute('aria-valuenow', String(pct));
  }
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

// ---------- media ----------

async function getMic() {
  const s = loadSettings();
  const vp = !!s.voiceProcessing;
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: vp, noiseSuppression: vp, autoGainControl: vp },
      video: false,
    });
  } catch (err) {
    if (err && err.name === 'NotAllowedError') {
      showMessage('Microphone access was denied. Allow the microphone for this site (the lock icon in the address bar) and try again.');
    } else if (err && err.name === 'NotFoundError') {
      showMessage('No microphone found. Connect one and try again.');
    } else {
      showMessage(`Cannot open the microphone: ${err && err.message ? err.message : err}`);
    }
    throw err;
  }
}

// pcConfig is the RTCPeerConnection configuration: max-bundle both ways.
// sipedge restores a=group:BUNDLE in answers and adds it to offers coming
// through rtpengine (rtpengine 10.5 writes a=mid but no group).
function pcConfig() {
  const s = loadSettings();
  return {
    iceServers: s.stunUrl ? [{ urls: s.stunUrl }] : [],
    rtcpMuxPolicy: 'require',
    bundlePolicy: 'max-bundle',
  };
}

// watchPeerConnection follows the session's RTCPeerConnection: remote audio,
// the remote meter and the connection state.
function watchPeerConnection(conn) {
  pc = conn;
  conn.addEventListener('track', (ev) => {
    const stream = ev.streams[0] || new MediaStream([ev.track]);
    const audio = $('remote-audio');
    audio.srcObject = stream;
    audio.play().catch(() => {});
    attachMeter('remote', stream);
  });
  conn.addEventListener('connectionstatechange', () => {
    if (conn.connectionState === 'failed') {
      showMessage('Media connection failed (ICE/DTLS). Check that rtpengine is reachable from this browser.');
    }
  });
}

// iceTimeout lets the call start before ICE gathering is complete:
// JsSIP waits for the end of gathering, which can take many seconds.
function iceTimeout(sess) {
  let timer = 0;
  const haveStun = pcConfig().iceServers.length > 0;
  sess.on('icecandidate', (ev) => {
    const type = ev.candidate.type || (/ typ (\w+)/.exec(ev.candidate.candidate) || [])[1];
    if (type === 'srflx' || type === 'relay') {
      clearTimeout(timer);
      ev.ready();
      return;
    }
    if (!timer) timer = setTimeout(ev.ready, haveStun ? ICE_WAIT_MS : ICE_HOST_ONLY_MS);
  });
  const stop = () => clearTimeout(timer);
  sess.on('sending', stop);
  sess.on('ended', stop);
  sess.on('failed', stop);
}

function stopLocal() {
  if (localStream) for (const t of localStream.getTracks()) t.stop();
  localStream = null;
  detachMeter('local');
}

// ---------- messages for failures ----------

function statusOf(ev) {
  const m = ev && (ev.response || ev.message);
  return m && m.status_code ? `${m.status_code} ${m.reason_phrase || ''}`.trim() : '';
}

function regFailureText(ev) {
  const C = JsSIP.C.causes;
  const code = ev.response ? ev.response.status_code : 0;
  const st = statusOf(ev);
  if (ev.cause === C.AUTHENTICATION_ERROR || ev.cause === C.REJECTED || code === 401 || code === 403) {
    return `Wrong user name or password: the server refused the registration${st ? ` (${st})` : ''}.`;
  }
  if (ev.cause === C.CONNECTION_ERROR) return 'Registration failed: cannot reach the server over WebSocket.';
  if (ev.cause === C.REQUEST_TIMEOUT) return 'Registration failed: the server did not answer in time.';
  return `Registration failed: ${ev.cause}${st ? ` (${st})` : ''}.`;
}

function callFailureText(ev, peer) {
  const C = JsSIP.C.causes;
  const st = statusOf(ev);
  const sfx = st ? ` (${st})` : '';
  switch (ev.cause) {
    case C.NOT_FOUND: return `No route to ${peer}: the number does not exist${sfx}.`;
    case C.UNAVAILABLE: return `${peer} is not reachable right now${sfx}.`;
    case C.ADDRESS_INCOMPLETE: return `The number ${peer} is incomplete or invalid${sfx}.`;
    case C.BUSY: return `${peer} is busy${sfx}.`;
    case C.REJECTED: return `The call to ${peer} was rejected${sfx}.`;
    case C.INCOMPATIBLE_SDP: return `${peer} cannot accept this audio session${sfx}.`;
    case C.AUTHENTICATION_ERROR: return `The server refused the call: check user name and password${sfx}.`;
    case C.USER_DENIED_MEDIA_ACCESS: return 'Microphone access was denied. Allow the microphone for this site and try again.';
    case C.CONNECTION_ERROR: return 'The call failed: the WebSocket connection to the server is down.';
    case C.REQUEST_TIMEOUT: return `No answer from the server for the call to ${peer}.`;
    case C.NO_ANSWER: return `${peer} did not answer.`;
    case C.WEBRTC_ERROR: return `Audio setup failed in the browser${sfx}.`;
    case C.BAD_MEDIA_DESCRIPTION: return `${peer} answered with media this browser cannot use (no ICE/DTLS-SRTP)${sfx}: is rtpengine configured in sipedge?`;
    case C.CANCELED: return '';
    case C.SIP_FAILURE_CODE: return `The call to ${peer} failed${sfx}.`;
    default: return `The call to ${peer} failed: ${ev.cause}${sfx}.`;
  }
}

// ---------- session handling ----------

function bindSession(sess, direction, peer) {
  session = sess;
  pc = null;
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
    stopLocal();
    detachMeter('remote');
    $('remote-audio').srcObject = null;
    state.lastCause = ev.cause || '';
    const result = ok ? 'ended' : (ev.cause || 'failed');
    addLog({ direction, peer, at: startedAt, answered, durationMs: answered ? Date.now() - callStart : 0, result });
    if (!ok) {
      const text = direction === 'out' ? callFailureText(ev, peer) : '';
      if (text) showMessage(text);
    }
    if (session === sess) session = null;
    state.call = 'ended';
    state.muted = false;
    state.held = false;
    render();
  };
  sess.on('ended', (ev) => finish(ev, true));
  sess.on('failed', (ev) => finish(ev, false));
}

function target(raw) {
  const t = raw.trim();
  if (/^sips?:/i.test(t)) return t;
  if (t.includes('@')) return `sip:${t}`;
  return `sip:${t}@${loadSettings().domain}`;
}

async function call() {
  const raw = $('number').value.trim();
  if (!ua || !raw || session) return;
  clearMessage();
  ctx();
  let stream;
  try {
    stream = await getMic();
  } catch {
    return;
  }
  localStream = stream;
  attachMeter('local', stream);
  state.call = 'calling';
  render();
  try {
    const sess = ua.call(target(raw), {
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
    stopLocal();
    state.call = 'idle';
    showMessage(`Cannot place the call: ${err.message || err}`);
    render();
  }
}

async function answer() {
  const sess = session;
  if (!sess || state.call !== 'incoming') return;
  ctx();
  let stream;
  try {
    stream = await getMic();
  } catch {
    sess.terminate({ status_code: 480, reason_phrase: 'Microphone Unavailable' });
    return;
  }
  localStream = stream;
  attachMeter('local', stream);
  state.call = 'calling';
  render();
  sess.answer({ mediaStream: stream, pcConfig: pcConfig() });
}

function hangup() {
  if (!session) return;
  try {
    session.terminate();
  } catch (err) {
    session = null;
    state.call = 'idle';
    render();
  }
}

function reject() {
  if (session && state.call === 'incoming') session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
}

// ---------- user agent ----------

function stopUA() {
  if (!ua) return;
  const old = ua;
  ua = null;
  old.removeAllListeners();
  old.stop();
  state.ws = 'off';
  state.registration = 'unregistered';
}

function startUA(s) {
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
    ua = new JsSIP.UA({
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
    ua = null;
    showMessage(`Settings are not valid: ${err.parameter ? `${err.parameter} ` : ''}${err.message || err}`);
    render();
    return;
  }
  const me = ua;
  const live = () => ua === me;
  me.on('connecting', () => { if (!live()) return; state.ws = 'connecting'; render(); });
  me.on('connected', () => {
    if (!live()) return;
    const wasLost = state.ws === 'disconnected';
    state.ws = 'connected';
    state.registration = 'registering';
    if (wasLost) showMessage('Connection restored; registering again.', 'info');
    render();
  });
  me.on('disconnected', (ev) => {
    if (!live()) return;
    state.ws = 'disconnected';
    if (state.registration === 'registered' || state.registration === 'registering') state.registration = 'unregistered';
    const code = ev && ev.code ? ` (close code ${ev.code})` : '';
    showMessage(`WebSocket connection to ${s.wsUrl} lost${code}. Reconnecting automatically…`);
    render();
  });
  me.on('registered', () => {
    if (!live()) return;
    state.registration = 'registered';
    if (!$('message').hidden && $('message').dataset.kind === 'info') clearMessage();
    if (state.lastError.startsWith('WebSocket')) { clearMessage(); state.lastError = ''; }
    render();
  });
  me.on('unregistered', () => { if (!live()) return; state.registration = 'unregistered'; render(); });
  me.on('registrationFailed', (ev) => {
    if (!live()) return;
    state.registration = 'failed';
    showMessage(regFailureText(ev));
    render();
  });
  me.on('newRTCSession', (ev) => {
    if (!live() || ev.originator !== 'remote') return;
    const sess = ev.session;
    if (session) {
      sess.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    const from = sess.remote_identity;
    const peer = from.display_name ? `${from.display_name} <${from.uri.user}>` : `${from.uri.user}@${from.uri.host}`;
    bindSession(sess, 'in', peer);
    state.call = 'incoming';
    render();
  });
  state.ws = 'connecting';
  state.registration = 'registering';
  me.start();
  render();
}

// ---------- wiring ----------

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const s = readForm();
  saveSettings(s);
  clearMessage();
  startUA(s);
});

$('unregister').addEventListener('click', () => {
  if (!ua) return;
  const me = ua;
  me.unregister({ all: false });
  // Give the un-REGISTER a moment to leave before closing the socket.
  setTimeout(() => { if (ua === me) { stopUA(); render(); } }, 500);
  state.registration = 'unregistered';
  render();
});

function pressKey(key) {
  if (session && (state.call === 'in-call' || state.call === 'on-hold')) {
    try {
      session.sendDTMF(key, { transportType: 'INFO', duration: 100 });
    } catch (err) {
      showMessage(`Cannot send DTMF: ${err.message || err}`);
    }
  }
  const n = $('number');
  if (!session) n.value += key;
}

for (const b of document.querySelectorAll('.pad button')) {
  b.addEventListener('click', () => pressKey(b.dataset.key));
}
$('backspace').addEventListener('click', () => {
  const n = $('number');
  n.value = n.value.slice(0, -1);
});
$('number').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') call();
});
$('call').addEventListener('click', call);
$('hangup').addEventListener('click', hangup);
$('answer').addEventListener('click', answer);
$('reject').addEventListener('click', reject);
$('mute').addEventListener('click', () => {
  if (!session) return;
  if (state.muted) session.unmute({ audio: true });
  else session.mute({ audio: true });
});
$('hold').addEventListener('click', () => {
  if (!session) return;
  if (state.held) session.unhold();
  else session.hold();
});
window.addEventListener('beforeunload', () => {
  if (ua) ua.stop();
});

// ---------- test hook ----------

async function stats() {
  const out = {
    connectionState: pc ? pc.connectionState : 'none',
    iceConnectionState: pc ? pc.iceConnectionState : 'none',
    inbound: null,
    outbound: null,
    levels: { ...meters.levels },
  };
  if (!pc || pc.connectionState === 'closed') return out;
  const report = await pc.getStats();
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && (r.kind === 'audio' || r.mediaType === 'audio')) {
      out.inbound = {
        packetsReceived: r.packetsReceived || 0,
        bytesReceived: r.bytesReceived || 0,
        totalAudioEnergy: r.totalAudioEnergy || 0,
        audioLevel: r.audioLevel || 0,
        packetsLost: r.packetsLost || 0,
      };
    } else if (r.type === 'outbound-rtp' && (r.kind === 'audio' || r.mediaType === 'audio')) {
      out.outbound = { packetsSent: r.packetsSent || 0, bytesSent: r.bytesSent || 0 };
    }
  });
  return out;
}

window.sipedgeDemo = {
  /** state returns the registration, WebSocket and call state. */
  state: () => ({ ...state, instanceId: instanceId(), callLog: loadLog() }),
  /** stats returns audio figures from the current RTCPeerConnection's getStats(). */
  stats,
};

// ---------- start ----------

const initial = loadSettings();
fillForm(initial);
$('instance-id').textContent = instanceId();
renderLog();
render();
if (initial.user && initial.wsUrl && localStorage.getItem(STORE)) startUA(initial);
