// Package topo hides the network behind sipedge from the parties on an
// external listener (topology hiding, as Kamailio's topoh module does).
//
// Toward the outside, a message shows sipedge's external address only:
//
//   - Contact: every Contact URI becomes sipedge's external address with the
//     original URI sealed in the ContactParam parameter;
//   - Record-Route: the entries on the inside of sipedge's external entry
//     (sipedge's own inside entry, inside proxies) are sealed into a
//     RouteParam parameter of that entry;
//   - Via: a request keeps only sipedge's own Via; the proxy restores the
//     inside Vias on the responses from the transaction it holds.
//
// The state is not kept in sipedge: it travels, encrypted and
// authenticated (AES-256-GCM), in the URIs the outside party must echo
// (its remote target and route set). An in-dialog request from outside is
// restored by Restore before routing; a response from outside by
// RestoreRecordRoutes. Anything not sealed by this Hider's key fails
// authentication and is left as received.
package topo
