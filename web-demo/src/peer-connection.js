// peer-connection.js: the call's RTCPeerConnection: its configuration, the
// short ICE gathering wait, and watching it for remote audio and failure.
import { live } from './state.js';
import { loadSettings } from './settings.js';
import { showMessage } from './messages.js';
import { playRemote } from './remote-audio.js';

const ICE_WAIT_MS = 1000; // longest wait for ICE gathering once a candidate is known
const ICE_HOST_ONLY_MS = 250; // without STUN, host candidates come in one burst

// pcConfig is the RTCPeerConnection configuration: max-bundle both ways.
// sipedge restores a=group:BUNDLE in answers and adds it to offers coming
// through rtpengine (rtpengine 10.5 writes a=mid but no group).
export function pcConfig() {
  const s = loadSettings();
  return {
    iceServers: s.stunUrl ? [{ urls: s.stunUrl }] : [],
    rtcpMuxPolicy: 'require',
    bundlePolicy: 'max-bundle',
  };
}

// watchPeerConnection follows the session's RTCPeerConnection: remote audio,
// the remote meter and the connection state.
export function watchPeerConnection(conn) {
  live.pc = conn;
  conn.addEventListener('track', (ev) => {
    playRemote(ev.streams[0] || new MediaStream([ev.track]));
  });
  conn.addEventListener('connectionstatechange', () => {
    if (conn.connectionState === 'failed') {
      showMessage('Media connection failed (ICE/DTLS). Check that rtpengine is reachable from this browser.');
    }
  });
}

// iceTimeout lets the call start before ICE gathering is complete:
// JsSIP waits for the end of gathering, which can take many seconds.
export function iceTimeout(sess) {
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
