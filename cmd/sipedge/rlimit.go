//go:build unix

package main

import (
	"log/slog"

	"golang.org/x/sys/unix"
)

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit, so that
// connection caps, not the descriptor limit, bound what a flood can hold,
// and logs the result. Since Go 1.19 the syscall package already raises
// the soft limit at start (to hard-1, when soft is below it, and restores
// the original soft limit in child processes); doing it here makes the
// value explicit and visible in the log, whatever Go version or starter.
// want is the number of descriptors the configured caps may need; a lower
// limit is warned about.
func raiseFileLimit(log *slog.Logger, want uint64) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("file limit unknown", "error", err)
		return
	}
	from := lim.Cur
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn("file limit not raised", "soft", from, "hard", lim.Max, "error", err)
			lim.Cur = from
		}
	}
	log.Info("file limit", "soft", lim.Cur, "hard", lim.Max, "raised_from", from)
	if lim.Cur < want {
		log.Warn("file limit below the connection caps: accept fails (and is retried) before the caps refuse",
			"soft", lim.Cur, "caps", want)
	}
}
