#!/usr/bin/env node
// JsSIP under Node as a browser softphone for sipedge's tests (signalling
// only). The SIP stack (JsSIP), the WebSocket (the `ws` package) and the
// gateway are real; only the browser's WebRTC API is a test double
// (fakewebrtc.js) that produces a fixed SDP offer/answer, as no media flows.
//
// Usage:
//   node client.js --url wss://127.0.0.1:P/ws --user alice --password pw
//        --mode call|answer [--target sip:15551234@example.test]
//        [--hangup local|remote] [--ca cert.pem] [--local-ip 127.0.0.2]
//        [--timeout-ms 20000]
//
// It prints one JSON object per line on stdout for each step
// ({"event":"registered"}, {"event":"confirmed"}, {"event":"ended",
// "originator":"local"}, ...) and exits 0 when the call ended the way
// --hangup says, 1 otherwise, 2 on a usage error.
'use strict';

const fs = require('fs');
const { WebSocket: NodeWebSocket } = require('ws');
const fake = require('./fakewebrtc');

function parseArgs(argv) {
  const out = { mode: 'call', hangup: 'local', timeoutMs: 20000 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) {
      usage(`bad argument ${k}`);
    }
    const key = k.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    out[key] = key === 'timeoutMs' ? Number(v) : v;
  }
  for (const req of ['url', 'user', 'password']) {
    if (!out[req]) usage(`--${req} is required`);
  }
  if (!['call', 'answer'].includes(out.mode)) usage(`--mode ${out.mode}`);
  if (!['local', 'remote'].includes(out.hangup)) usage(`--hangup ${out.hangup}`);
  if (out.mode === 'call' && !out.target) usage('--target is required with --mode call');
  return out;
}

function usage(msg) {
  process.stderr.write(`client.js: ${msg}\n`);
  process.exit(2);
}

function emit(event, extra) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, extra || {})) + '\n');
}

const opts = parseArgs(process.argv.slice(2));

// JsSIP's WebSocketInterface does `new WebSocket(url, 'sip')`: give it the
// `ws` implementation with the test CA and the source address.
const wsOptions = {};
if (opts.ca) wsOptions.ca = fs.readFileSync(opts.ca);
if (opts.localIp) wsOptions.localAddress = opts.localIp;
globalThis.WebSocket = class extends NodeWebSocket {
  constructor(url, protocols) {
    super(url, protocols, wsOptions);
  }
};
fake.install(globalThis);

const JsSIP = require('jssip');

const socket = new JsSIP.WebSocketInterface(opts.url);
const ua = new JsSIP.UA({
  sockets: [socket],
  uri: `sip:${opts.user}@example.test`,
  password: opts.password,
  register: true,
  register_expires: 300,
  session_timers: false,
  user_agent: 'JsSIP (sipedge test)',
  connection_recovery_min_interval: 2,
  connection_recovery_max_interval: 4,
});

let exitCode = 1;
let finished = false;

function finish(code, why) {
  if (finished) return;
  finished = true;
  exitCode = code;
  emit('finish', { code, why });
  ua.stop(); // unregisters and closes the WebSocket
  // Bounded wait for the close; exit either way.
  setTimeout(() => process.exit(exitCode), 1000).unref();
}

ua.on('disconnected', () => {
  if (finished) process.exit(exitCode);
});

const overall = setTimeout(() => finish(1, `timeout after ${opts.timeoutMs} ms`), opts.timeoutMs);
overall.unref();

function watch(session) {
  session.on('progress', (e) => emit('progress', { status: e.response ? e.response.status_code : 0 }));
  session.on('accepted', () => emit('accepted'));
  session.on('confirmed', () => {
    emit('confirmed');
    if (opts.hangup === 'local') {
      // The call lasts 100 ms (as SIPp's -d): an ACK and a BYE sent in the
      // same instant may overtake each other in a parallel proxy.
      setTimeout(() => session.terminate(), 100);
    }
  });
  session.on('ended', (e) => {
    emit('ended', { originator: e.originator, cause: e.cause });
    finish(e.originator === opts.hangup ? 0 : 1, `ended by ${e.originator}`);
  });
  session.on('failed', (e) => {
    emit('failed', {
      originator: e.originator,
      cause: e.cause,
      status: e.message && e.message.status_code,
    });
    finish(1, `failed: ${e.cause}`);
  });
}

ua.on('registered', (e) => {
  emit('registered', { contacts: e.response.getHeaders('Contact').length });
  if (opts.mode === 'call') {
    const session = ua.call(opts.target, {
      mediaStream: fake.stream(),
      pcConfig: { iceServers: [] },
    });
    watch(session);
  }
});
ua.on('registrationFailed', (e) => {
  emit('registrationFailed', { cause: e.cause, status: e.response && e.response.status_code });
  finish(1, 'registration failed');
});
ua.on('newRTCSession', (e) => {
  if (e.originator !== 'remote') return;
  emit('incoming', { from: e.request.from.uri.toString() });
  watch(e.session);
  e.session.answer({ mediaStream: fake.stream(), pcConfig: { iceServers: [] } });
});

ua.start();
