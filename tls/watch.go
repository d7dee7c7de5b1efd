package tls

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"time"
)

// Watch reloads the certificates whenever one of their files changes on
// disk, until ctx ends; run it in a goroutine its owner waits for. Files
// are polled every interval: a stat of each (size, modification time and
// inode, so a renewal that renames new files into place, as certbot does
// through its live/ symlinks, is seen as well as one written in place).
// Each change is logged once: "tls certificate reloaded", or "tls
// certificate reload failed" with the error, the old certificate then
// staying in service.
func (s *Certificates) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	files := s.cfg.watchedFiles()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		last := s.loaded
		s.mu.Unlock()
		if sameStamps(stamps(files), last) {
			continue // as last loaded (by a poll, SIGHUP or the first load)
		}
		if err := s.Reload(); err != nil {
			log.Error("tls certificate reload failed; the old one stays in use", "trigger", "file change", "error", err)
			continue
		}
		log.Info("tls certificate reloaded", "trigger", "file change", "subject", s.Subject(), "not_after", s.NotAfter(), "certificates", s.Count())
	}
}

// watchedFiles is every certificate and key file, once each.
func (c Config) watchedFiles() []string {
	var out []string
	for _, p := range c.pairFiles() {
		for _, f := range p {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// stamp is what a poll compares of one file: nil for a file that cannot
// be read.
type stamp = os.FileInfo

// stamps stats files (following symbolic links, as a reader does).
func stamps(files []string) []stamp {
	out := make([]stamp, len(files))
	for i, f := range files {
		if fi, err := os.Stat(f); err == nil {
			out[i] = fi
		}
	}
	return out
}

// sameStamps reports whether no file changed: the same file (device and
// inode: a rename replaces it), size and modification time.
func sameStamps(a, b []stamp) bool {
	return slices.EqualFunc(a, b, func(x, y stamp) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		return os.SameFile(x, y) && x.Size() == y.Size() && x.ModTime().Equal(y.ModTime())
	})
}
