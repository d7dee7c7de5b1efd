// test-hook.js: window.sipedgeDemo, what the browser tests
// (test/browser/softphone.mjs) read: the softphone's state and the call's
// audio figures from getStats().
import { state, live } from './state.js';
import { instanceId } from './instance-id.js';
import { loadLog } from './call-log.js';
import { meterLevels } from './meters.js';

async function stats() {
  const pc = live.pc;
  const out = {
    connectionState: pc ? pc.connectionState : 'none',
    iceConnectionState: pc ? pc.iceConnectionState : 'none',
    inbound: null,
    outbound: null,
    levels: meterLevels(),
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

export function exposeTestHook() {
  window.sipedgeDemo = {
    /** state returns the registration, WebSocket and call state. */
    state: () => ({ ...state, instanceId: instanceId(), callLog: loadLog() }),
    /** stats returns audio figures from the current RTCPeerConnection's getStats(). */
    stats,
  };
}
