package ws

import "errors"

// ErrFlowClosed is returned when writing to or starting a transaction on a
// flow whose connection has ended.
var ErrFlowClosed = errors.New("ws: flow closed")

// ErrServerClosed is returned for work refused because the Server is closed.
var ErrServerClosed = errors.New("ws: server closed")

// ErrTxExists is returned by Flow.Request when a client transaction with the
// same key (Via branch and method) is already running on the flow.
var ErrTxExists = errors.New("ws: client transaction already exists")

// ErrAck is returned by Flow.Request for an ACK: an ACK is not a transaction;
// send it with Flow.WriteMsg.
var ErrAck = errors.New("ws: ACK must be sent with WriteMsg")
