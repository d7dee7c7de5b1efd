package ws

import "time"

// workerIdle is how long a worker goroutine waits for more work before it
// exits.
const workerIdle = 5 * time.Second

// spawn runs fn (a request handler, a response delivery, a ping) on an idle
// worker goroutine, or on a new one, unless the Server is closing. Reusing
// workers keeps their grown stacks: a new goroutine starts with 2 KiB and
// copies its stack, more than once, on its way down the SIP handler path.
// Workers are owned by the Server (wg); each exits after workerIdle without
// work, or when the Server stops.
func (s *Server) spawn(fn func()) bool {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return false
	}
	select {
	case s.work <- fn:
		return true
	default:
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.worker(fn)
	return true
}

// worker runs fn, then whatever spawn hands it, until it has been idle for
// workerIdle or the Server stops.
func (s *Server) worker(fn func()) {
	defer s.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		fn()
		fn = nil
		idle.Reset(workerIdle)
		select {
		case fn = <-s.work:
		case <-idle.C:
			return
		case <-s.stop:
			return
		}
	}
}
