// Package baresip runs Debian's baresip (1.0.0) headless for sipedge's
// interop tests: a classic soft-phone nobody here wrote.
//
// Start writes a config directory (baresip -f DIR) that keeps baresip on
// loopback (net_interface 127.0.0.1, sip_listen 127.0.0.1:0, a private
// rtp_ports range), loads only what a headless phone needs and starts the
// process:
//
//   - g711 (PCMU, PCMA), no ICE/STUN/TURN, no SRTP: plain RTP/AVP;
//   - aufile as the audio source: a WAV file (8 kHz mono 16-bit, see
//     WriteTone) played into every call; at its end baresip hangs up, so
//     make it longer than any call;
//   - no audio player: baresip still decodes what it receives, and the
//     sndfile filter writes the decoded audio of each call to
//     DIR/dump-<time>-dec.wav (and what it sent to ...-enc.wav), read back
//     with ReadWAV;
//   - menu and ctrl_tcp: commands (uanew, dial, hangup, ...) as netstring
//     JSON over TCP on 127.0.0.1, and events (REGISTER_OK, CALL_INCOMING,
//     CALL_ESTABLISHED, CALL_CLOSED, ...) on the same connection.
//
// The account is created after the control connection is up (uanew), so
// no registration event is missed: Phone.Register creates it and waits for
// REGISTER_OK or REGISTER_FAIL. Incoming calls are answered automatically
// (answermode=auto).
//
// SIP over TLS is not verified by Debian's baresip 1.0.0 on libre 1.1.0:
// baresip never calls libre's tls_set_verify_server (its sip_verify_server
// knob came later) and libre's verify callback trusts every certificate.
// sip_cafile is set to the test CA anyway, for a baresip that does verify.
//
// Digest: libre 1.1.0 answers a 401/407 only when every challenge in it is
// MD5 and no two share a realm, so the registrar must offer MD5 alone.
package baresip
