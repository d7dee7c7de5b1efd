// Package dialog holds the calls the proxy may have to end on its own and
// the rules for routing requests inside a dialog.
//
// A Table is the single owner of the confirmed dialogs the gateway tracks
// (one leg over a WebSocket flow that may vanish, or media anchored in
// rtpengine). A dialog is keyed by its Call-ID and both tags, so the two
// 2xx of a forked INVITE make two dialogs; a request from either party
// finds its dialog whichever way round its tags are. The gateway asks the
// table for the dialogs of a lost flow or past their maximum duration and
// sends the BYEs that Bye builds.
//
// Hop is where an in-dialog request goes next: the WebSocket flow named in
// the proxy's own Route entries, else the route set, else a NATed party's
// real address (its Contact alias), else the Request-URI.
package dialog
