// state.js: what the softphone is doing. `state` is what the page shows and
// what the test hook reports; `live` holds the current JsSIP objects.
export const state = {
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

export const live = {
  ua: null, // the JsSIP UA, null when not started
  session: null, // the current JsSIP RTCSession
  pc: null, // its RTCPeerConnection
};
