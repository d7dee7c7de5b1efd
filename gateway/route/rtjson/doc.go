// Package rtjson is the client of an HTTP routing service that answers in
// Kamailio's rtjson format (routes[].api in the configuration).
//
// For a request a route sends to the service, the gateway POSTs a JSON
// Query (method, Request-URI, From, To, Call-ID, source, transport,
// authenticated user, selected headers) and waits at most the route's
// timeout. The answer is a Document: `{"version":"1.0","routing":"serial"
// |"parallel","routes":[{"uri","dst_uri","path","headers":{"from":
// {"display","uri"},"to":{..},"extra"},"fr_timer","fr_inv_timer"}]}`
// (rtjson's fields, same meaning; fr_timer and fr_inv_timer are in
// milliseconds), or a rejection `{"reject":{"code":486,"reason":".."}}`.
// Parse refuses anything malformed: invalid JSON, an unknown version or
// routing, a URI that is not sip/sips, CR, LF or NUL inside a header or
// a URI, a body over MaxBody. The caller then uses its fallback route;
// nothing malformed is ever forwarded.
package rtjson
