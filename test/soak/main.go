// Command soak runs the sipedge binary for a long time under a modest mixed
// load and watches it for leaks (make soak; README.md "Soak").
//
// It starts a real rtpengine (userspace, loopback), rtpecho (a classic
// phone that echoes RTP), SIPp as UAS, sipedge (with its admin endpoint, to
// count goroutines) and then, for -duration:
//
//   - UDP calls: a SIPp UAC places -udp-rate calls/s of -udp-hold each
//     through sipedge to the SIPp UAS (INVITE/200/ACK/BYE, Record-Route);
//   - WebSocket registrations with reconnect churn: -ws-clients clients,
//     each dialling, registering with digest, holding a moment and leaving
//     by un-REGISTER + close, by close alone or by dropping the TCP
//     connection, and starting over;
//   - browser-style calls: -browsers pion peers over WSS calling rtpecho
//     through rtpengine (ICE + DTLS-SRTP to plain RTP), one after another,
//     each checking that its media comes back;
//   - bad input: junk UDP datagrams, broken SIP over UDP and TCP, and TCP
//     connections left holding half a request, -bad-rate per second;
//   - a liveness probe: OPTIONS to sipedge every second.
//
// The SIPp processes run at nice -10 (-sipp-nice) so that other work on a
// shared machine does not starve them into aborting calls; sipedge,
// rtpengine and this program run at the default priority.
//
// Every -interval it prints one line: elapsed time, sipedge's RSS,
// goroutines (from /debug/pprof/goroutine), open files (/proc/PID/fd),
// CPU share, rtpengine's session count, and attempts/failures per kind.
// Then it stops the load, waits -drain and takes an idle sample. The
// verdict: flat when, leaving out the first -warmup, the last third of the
// samples is within the tolerances of the first third, and (goroutines
// and open files) the idle sample after the load is within them of the
// idle sample before it; 0 failed and 0 lost. It exits 1 if either fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	sipedge   string
	duration  time.Duration
	interval  time.Duration
	drain     time.Duration
	warmup    time.Duration
	udpRate   int
	udpHold   time.Duration
	wsClients int
	browsers  int
	badRate   int
	sippNice  int
	keep      bool
}

func main() {
	var o options
	flag.StringVar(&o.sipedge, "sipedge", "bin/sipedge", "the sipedge binary (make build)")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long the load runs")
	flag.DurationVar(&o.interval, "interval", 30*time.Second, "time between two report lines")
	flag.DurationVar(&o.drain, "drain", 40*time.Second, "wait after the load before the idle sample (SIP transactions live 32s)")
	flag.DurationVar(&o.warmup, "warmup", time.Minute, "samples before this are printed but left out of the verdict (transaction and buffer pools filling)")
	flag.IntVar(&o.udpRate, "udp-rate", 20, "SIPp UDP calls per second")
	flag.DurationVar(&o.udpHold, "udp-hold", 2*time.Second, "length of each SIPp call")
	flag.IntVar(&o.wsClients, "ws-clients", 20, "WebSocket clients registering and reconnecting")
	flag.IntVar(&o.browsers, "browsers", 3, "concurrent browser-style calls through rtpengine")
	flag.IntVar(&o.badRate, "bad-rate", 5, "bad inputs per second (junk UDP, broken SIP, half-open TCP)")
	flag.IntVar(&o.sippNice, "sipp-nice", -10, "nice value of the SIPp processes (0: default priority); see proc.renice")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs) even when the soak passes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, o))
}

func run(ctx context.Context, o options) int {
	bin, err := filepath.Abs(o.sipedge)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: sipedge binary: %v (make build)\n", err)
		return 2
	}
	work, err := os.MkdirTemp("", "sipedge-soak-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	env, err := startEnv(ctx, work, bin, o)
	if err != nil {
		env.close()
		fmt.Fprintln(os.Stderr, "soak:", err)
		fmt.Fprintln(os.Stderr, "soak: logs in", work)
		return 2
	}
	ok := soak(ctx, env, o)
	env.close()
	if !ok || o.keep {
		fmt.Println("logs:", work)
	} else {
		_ = os.RemoveAll(work)
	}
	if !ok {
		return 1
	}
	return 0
}

// soak runs the load and the sampling, prints the report and returns the
// verdict.
func soak(ctx context.Context, env *env, o options) bool {
	fmt.Printf("soak: sipedge pid %d, %s of load, a line every %s; udp %d calls/s of %s (SIPp at nice %d), %d ws clients, %d browsers, %d bad inputs/s\n",
		env.sipedge.pid(), o.duration, o.interval, o.udpRate, o.udpHold, o.sippNice, o.wsClients, o.browsers, o.badRate)
	fmt.Println(header())
	idleBefore := env.sample(ctx, 0)
	fmt.Println(idleBefore.line("idle"))

	lctx, stopLoad := context.WithCancel(ctx)
	ld := startLoad(lctx, env, o)
	start := time.Now()
	tick := time.NewTicker(o.interval)
	var samples []sample
	died := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-env.sipedge.done:
			died = true
			break loop
		case <-tick.C:
			s := env.sample(ctx, time.Since(start))
			s.counts = ld.counts()
			samples = append(samples, s)
			fmt.Println(s.line(""))
			if time.Since(start) >= o.duration {
				break loop
			}
		}
	}
	tick.Stop()
	stopLoad()
	ld.wait(ctx)
	final := ld.counts()
	if !died && ctx.Err() == nil {
		select {
		case <-time.After(o.drain):
		case <-env.sipedge.done:
			died = true
		case <-ctx.Done():
		}
	}
	var idleAfter sample
	if !died {
		idleAfter = env.sample(context.Background(), time.Since(start))
		idleAfter.counts = final
		fmt.Println(idleAfter.line("idle"))
	}
	if ld.uacErr != nil {
		fmt.Println("soak: SIPp UAC:", ld.uacErr)
	}
	var steady []sample
	for _, s := range samples {
		if s.elapsed >= o.warmup {
			steady = append(steady, s)
		}
	}
	ok := verdict(steady, idleBefore, idleAfter, final, died, ctx.Err() != nil) && ld.uacErr == nil
	ld.printErrors()
	if !ok && !died {
		path := filepath.Join(env.work, "goroutines-end.txt")
		if err := env.saveGoroutines(path); err == nil {
			fmt.Println("goroutine profile at the end:", path)
		}
	}
	return ok
}
