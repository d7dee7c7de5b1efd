package ws

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestSpawnReusesWorkers(t *testing.T) {
	s := NewServer(Config{}, nil, nil)
	base := runtime.NumGoroutine()
	const n = 200
	var wg sync.WaitGroup
	ran := make(chan int, n)
	for i := range n {
		wg.Add(1)
		if !s.spawn(func() { defer wg.Done(); ran <- i }) {
			t.Fatalf("spawn %d refused on an open server", i)
		}
		wg.Wait() // one at a time: an idle worker is always there to take the next
	}
	if len(ran) != n {
		t.Fatalf("%d of %d functions ran", len(ran), n)
	}
	// Sequential work needs one worker, two at most while the first is
	// between fn and its select.
	if extra := runtime.NumGoroutine() - base; extra > 2 {
		t.Fatalf("%d goroutines left for sequential work, want <= 2", extra)
	}
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }() // owner: this test; waited below
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: workers not stopped")
	}
	if s.spawn(func() { t.Error("ran after Close") }) {
		t.Fatal("spawn accepted work after Close")
	}
}

func TestSpawnConcurrent(t *testing.T) {
	s := NewServer(Config{}, nil, nil)
	defer s.Close()
	const n = 64
	release := make(chan struct{})
	started := make(chan struct{}, n)
	for range n {
		if !s.spawn(func() { started <- struct{}{}; <-release }) {
			t.Fatal("spawn refused")
		}
	}
	// Blocked work must not wait for a free worker: all n run at once.
	deadline := time.After(5 * time.Second)
	for i := range n {
		select {
		case <-started:
		case <-deadline:
			t.Fatalf("only %d of %d blocked functions started", i, n)
		}
	}
	close(release)
}
