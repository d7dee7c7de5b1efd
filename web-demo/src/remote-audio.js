// remote-audio.js: plays the other side's audio (#remote-audio) and feeds
// the remote meter.
import { $ } from './dom.js';
import { attachMeter, detachMeter } from './meters.js';

export function playRemote(stream) {
  const audio = $('remote-audio');
  audio.srcObject = stream;
  audio.play().catch(() => {});
  attachMeter('remote', stream);
}

export function stopRemote() {
  detachMeter('remote');
  $('remote-audio').srcObject = null;
}
