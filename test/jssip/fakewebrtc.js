// A test double for the browser's WebRTC API, for signalling-only calls of
// JsSIP under Node: RTCPeerConnection produces a fixed SDP offer/answer,
// ICE gathering is complete at once, no media flows. Nothing else is faked.
'use strict';

const SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'c=IN IP4 127.0.0.1',
  'm=audio 9 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

class FakeRTCSessionDescription {
  constructor(init) {
    this.type = init.type;
    this.sdp = init.sdp;
  }
}

class FakeRTCPeerConnection extends EventTarget {
  constructor() {
    super();
    this.iceGatheringState = 'complete';
    this.iceConnectionState = 'new';
    this.signalingState = 'stable';
    this.localDescription = null;
    this.remoteDescription = null;
  }

  createOffer() {
    return Promise.resolve(new FakeRTCSessionDescription({ type: 'offer', sdp: SDP }));
  }

  createAnswer() {
    if (!this.remoteDescription) return Promise.reject(new Error('no remote offer'));
    return Promise.resolve(new FakeRTCSessionDescription({ type: 'answer', sdp: SDP }));
  }

  setLocalDescription(desc) {
    this.localDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
    return Promise.resolve();
  }

  setRemoteDescription(desc) {
    if (typeof desc.sdp !== 'string' || !desc.sdp.startsWith('v=0')) {
      return Promise.reject(new Error('remote SDP is not SDP'));
    }
    this.remoteDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
    return Promise.resolve();
  }

  addTrack() {
    return {};
  }

  getSenders() {
    return [];
  }

  getReceivers() {
    return [];
  }

  getLocalStreams() {
    return [];
  }

  getRemoteStreams() {
    return [];
  }

  close() {
    this.signalingState = 'closed';
  }
}

// stream returns a MediaStream stand-in without tracks.
function stream() {
  return {
    getTracks: () => [],
    getAudioTracks: () => [],
    getVideoTracks: () => [],
  };
}

// install puts the fakes where JsSIP looks for them (window.* and globals).
function install(g) {
  g.window = g;
  g.RTCPeerConnection = FakeRTCPeerConnection;
  g.RTCSessionDescription = FakeRTCSessionDescription;
}

module.exports = { install, stream, SDP };
