// meters.js: the microphone and remote level meters: one Web Audio
// analyser per stream, drawn on every animation frame.
import { $ } from './dom.js';

let audioCtx = null;
const meters = { local: null, remote: null, levels: { local: 0, remote: 0 } };

// unlockAudio creates or resumes the AudioContext; call it from a click so
// the browser lets it run.
export function unlockAudio() {
  if (!audioCtx) audioCtx = new AudioContext();
  if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

// attachMeter measures stream on the meter `which` ('local' or 'remote').
export function attachMeter(which, stream) {
  detachMeter(which);
  if (!stream || stream.getAudioTracks().length === 0) return;
  const src = unlockAudio().createMediaStreamSource(stream);
  const analyser = audioCtx.createAnalyser();
  analyser.fftSize = 1024;
  src.connect(analyser);
  meters[which] = { src, analyser, buf: new Float32Array(analyser.fftSize) };
}

export function detachMeter(which) {
  const m = meters[which];
  if (m) m.src.disconnect();
  meters[which] = null;
  meters.levels[which] = 0;
}

// meterLevels returns the last RMS levels (0..1) of both meters.
export function meterLevels() {
  return { ...meters.levels };
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

export function startMeters() {
  requestAnimationFrame(tick);
}
