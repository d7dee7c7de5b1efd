// failure-text.js: plain-language messages for failed registrations and
// calls, from JsSIP's causes and the SIP status.
import * as JsSIP from 'jssip/lib/JsSIP.js';

function statusOf(ev) {
  const m = ev && (ev.response || ev.message);
  return m && m.status_code ? `${m.status_code} ${m.reason_phrase || ''}`.trim() : '';
}

export function regFailureText(ev) {
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

// callFailureText returns the message for an outgoing call that failed,
// '' when there is nothing to say (the user cancelled).
export function callFailureText(ev, peer) {
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
