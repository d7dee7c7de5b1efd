package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one measurement of sipedge and the load.
type sample struct {
	elapsed    time.Duration
	rssKB      int64
	goroutines int64
	fds        int64
	cpuPct     float64 // since the previous sample
	load1      float64 // the machine's 1-minute load average
	rtpe       int     // calls rtpengine holds (ng list)
	counts     counts
	cpuTicks   int64
	at         time.Time
}

// sample reads sipedge's /proc entries, its goroutine count (admin) and
// rtpengine's call list.
func (e *env) sample(ctx context.Context, elapsed time.Duration) sample {
	pid := e.sipedge.pid()
	s := sample{elapsed: elapsed, at: time.Now(), goroutines: -1, rtpe: -1, rssKB: -1, fds: -1}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				s.rssKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = int64(len(ents))
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// fields after the ")" that ends the command name: utime is the
		// 14th field of the line, stime the 15th.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b)[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				s.cpuTicks = u + st
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			s.load1, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	s.goroutines = e.goroutines(ctx)
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if calls, err := e.ng.List(lctx, "", 100000); err == nil {
		s.rtpe = len(calls)
	}
	if e.last.at.IsZero() {
		e.last = s
	} else {
		if d := s.at.Sub(e.last.at).Seconds(); d > 0 {
			s.cpuPct = float64(s.cpuTicks-e.last.cpuTicks) / 100 / d * 100 // USER_HZ is 100 on Linux
		}
		e.last = s
	}
	return s
}

// goroutines reads "goroutine profile: total N" from the admin endpoint.
func (e *env) goroutines(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+e.admin+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return -1
	}
	res, err := e.http.Do(req)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	_, _ = io.Copy(io.Discard, res.Body)
	if err != nil {
		return -1
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return -1
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// saveGoroutines writes the full goroutine profile (debug=1, stacks
// grouped) to path, for a leak report.
func (e *env) saveGoroutines(path string) error {
	res, err := e.http.Get("http://" + e.admin + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func header() string {
	return fmt.Sprintf("%-8s %7s %5s %5s %5s %5s %4s | %-17s | %-13s | %-13s | %-11s | %s",
		"elapsed", "rss_MB", "gor", "fds", "cpu%", "load1", "rtpe", "udp calls ok/fail", "ws reg ok/fail", "browser ok/fail", "probe ok/fail", "bad sent")
}

func (s sample) line(tag string) string {
	el := formatElapsed(s.elapsed)
	if tag != "" {
		el = tag
	}
	c := s.counts
	return fmt.Sprintf("%-8s %7.1f %5d %5d %5.1f %5.2f %4d | %8d/%-8d | %7d/%-5d | %7d/%-5d | %5d/%-5d | %d",
		el, float64(s.rssKB)/1024, s.goroutines, s.fds, s.cpuPct, s.load1, s.rtpe,
		c.udpOK, c.udpFail, c.ws[0], c.ws[1], c.browser[0], c.browser[1], c.probe[0], c.probe[1], c.bad)
}

func formatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// Tolerances of the flatness verdict: a metric is flat when the median of
// the last third of the samples is at most the median of the first third
// times (1+rel) plus abs, and (idle set) the idle sample after the load is
// within the same bound of the idle sample before it. RSS has no idle
// check: Go returns freed memory to the OS only slowly, so an idle process
// keeps the size its load needed.
var tolerances = []struct {
	name string
	get  func(sample) float64
	rel  float64
	abs  float64
	idle bool
}{
	{"rss_MB", func(s sample) float64 { return float64(s.rssKB) / 1024 }, 0.20, 8, false},
	{"goroutines", func(s sample) float64 { return float64(s.goroutines) }, 0.10, 20, true},
	{"fds", func(s sample) float64 { return float64(s.fds) }, 0.10, 10, true},
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// verdict prints and returns whether the run was flat and lost nothing.
func verdict(samples []sample, before, after sample, final counts, died, interrupted bool) bool {
	ok := true
	fmt.Println("verdict:")
	if interrupted {
		fmt.Println("  INTERRUPTED: the soak was stopped before its duration")
		ok = false
	}
	if died {
		fmt.Println("  FAIL: sipedge exited during the soak")
		return false
	}
	if len(samples) < 3 {
		fmt.Printf("  FAIL: %d samples after the warm-up, need at least 3 to compare thirds (raise -duration or lower -interval)\n", len(samples))
		ok = false
	} else {
		third := len(samples) / 3
		first, last := samples[:third], samples[len(samples)-third:]
		for _, t := range tolerances {
			var a, b []float64
			for _, s := range first {
				a = append(a, t.get(s))
			}
			for _, s := range last {
				b = append(b, t.get(s))
			}
			fa, lb := median(a), median(b)
			limit := fa*(1+t.rel) + t.abs
			idleLimit := t.get(before)*(1+t.rel) + t.abs
			flat := lb <= limit && (!t.idle || t.get(after) <= idleLimit)
			word := "flat"
			if !flat {
				word = "GROWING"
				ok = false
			}
			idle := fmt.Sprintf("idle before %.1f, after %.1f", t.get(before), t.get(after))
			if t.idle {
				idle += fmt.Sprintf(" (limit %.1f)", idleLimit)
			}
			fmt.Printf("  %-10s %s: first third median %.1f, last third median %.1f (limit %.1f); %s\n",
				t.name, word, fa, lb, limit, idle)
		}
	}
	lost := int64(0)
	if final.udpCreated > 0 {
		lost = final.udpCreated - final.udpOK - final.udpFail
	}
	failed := final.udpFail + final.ws[1] + final.browser[1] + final.probe[1]
	fmt.Printf("  calls and requests: udp %d ok / %d failed / %d unfinished of %d created; ws registrations %d ok / %d failed; browser calls %d ok / %d failed; probes %d ok / %d failed; %d bad inputs sent\n",
		final.udpOK, final.udpFail, lost, final.udpCreated, final.ws[0], final.ws[1], final.browser[0], final.browser[1], final.probe[0], final.probe[1], final.bad)
	if failed+lost == 0 {
		fmt.Println("  0 failed, 0 lost")
	} else {
		fmt.Printf("  FAIL: %d failed, %d lost\n", failed, lost)
		ok = false
	}
	if ok {
		fmt.Println("PASS: flat, 0 failed")
	} else {
		fmt.Println("FAIL")
	}
	return ok
}
