package nat

import "errors"

// ErrBadSource is returned when a source address is not "ip:port".
var ErrBadSource = errors.New("nat: source is not ip:port")
