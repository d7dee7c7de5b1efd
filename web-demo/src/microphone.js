// microphone.js: opens and closes the microphone for a call, with a clear
// message when it is denied or missing, and feeds the microphone meter.
import { loadSettings } from './settings.js';
import { showMessage } from './messages.js';
import { attachMeter, detachMeter } from './meters.js';

let localStream = null;

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

// openMic returns the microphone's stream; it rejects (after showing why)
// when the microphone cannot be used.
export async function openMic() {
  const stream = await getMic();
  localStream = stream;
  attachMeter('local', stream);
  return stream;
}

export function closeMic() {
  if (localStream) for (const t of localStream.getTracks()) t.stop();
  localStream = null;
  detachMeter('local');
}
