// Package field carries configuration problems that name the offending field.
//
// Leaf packages (gateway, gateway/auth, gateway/registrar, rtpengine, ws, nat,
// tls) own their Config types and return *field.Error values from Validate;
// package config prefixes the section name and resolves each field path to
// the file and line it came from, so an operator sees
// "sipedge.yaml:12: rtpengine.timeout (0s): must be > 0". It lives under
// internal/ so the arrows point one way: cmd → config → leaves, and leaves
// never import anything under config/.
package field

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one configuration problem: a dotted field path such as
// "routes[1].to[0]", the offending value as written, and what is wrong.
type Error struct {
	Path  string
	Value string
	Msg   string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Value == "" {
		return e.Path + ": " + e.Msg
	}
	return fmt.Sprintf("%s (%s): %s", e.Path, e.Value, e.Msg)
}

// New returns a problem with field path, value and message.
func New(path string, value any, format string, args ...any) *Error {
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	return &Error{Path: path, Value: v, Msg: fmt.Sprintf(format, args...)}
}

// List collects problems in the order they are found.
type List struct{ errs []error }

// Add records a problem.
func (l *List) Add(path string, value any, format string, args ...any) {
	l.errs = append(l.errs, New(path, value, format, args...))
}

// Merge appends the problems in err (as returned by another Validate),
// prefixing each field path with prefix.
func (l *List) Merge(prefix string, err error) {
	for _, e := range Unjoin(err) {
		var fe *Error
		if errors.As(e, &fe) {
			cp := *fe
			cp.Path = Join(prefix, fe.Path)
			l.errs = append(l.errs, &cp)
			continue
		}
		l.errs = append(l.errs, fmt.Errorf("%s: %w", prefix, e))
	}
}

// Err returns all problems joined, or nil.
func (l *List) Err() error { return errors.Join(l.errs...) }

// Join joins two path segments with a dot, dropping empty ones; an index
// segment ("[2]") is appended without a dot.
func Join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// Unjoin splits an error built by errors.Join (possibly nested) into its
// leaves; a nil error gives nil.
func Unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
