package cdr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
)

// Writer writes records to the log, and to the file and webhook of its
// Config. It implements Recorder. Close stops the webhook sender and
// closes the file.
type Writer struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.Mutex // serialises file writes
	file *os.File
	q    chan []byte
	cl   *http.Client
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewWriter opens cfg.File (if set) and starts the webhook sender (if
// set). cfg must be valid, with SetDefaults applied.
func NewWriter(cfg Config, log *slog.Logger) (*Writer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg, log: log.With("component", "cdr"), stop: make(chan struct{})}
	if cfg.File != "" {
		f, err := os.OpenFile(cfg.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("cdr: %w", err)
		}
		w.file = f
	}
	if cfg.Webhook != "" {
		w.q = make(chan []byte, cfg.QueueSize)
		w.cl = &http.Client{Timeout: cfg.WebhookTimeout}
		w.wg.Add(1)
		go func() { // owner: w; stopped by Close
			defer w.wg.Done()
			w.post()
		}()
	}
	return w, nil
}

// Record implements Recorder.
// A record nobody reads (the log drops Info, no file, no webhook) is not
// encoded.
func (w *Writer) Record(r *Record) {
	if w.file == nil && w.q == nil && !w.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		w.log.Error("call record not encoded", "call_id", r.CallID, "error", err)
		return
	}
	w.log.Info("call record", "call_id", r.CallID, "record", json.RawMessage(b))
	if w.file != nil {
		w.mu.Lock()
		_, err := w.file.Write(append(b, '\n'))
		w.mu.Unlock()
		if err != nil {
			w.log.Error("call record not written to the file", "call_id", r.CallID, "file", w.cfg.File, "error", err)
		}
	}
	if w.q != nil {
		select {
		case w.q <- b:
		default:
			w.log.Warn("call record not sent: webhook queue full", "call_id", r.CallID)
		}
	}
}

func (w *Writer) post() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.wg.Add(1)
	go func() { // owner: w; ends with w.stop, waited by Close
		defer w.wg.Done()
		<-w.stop
		cancel()
	}()
	for {
		select {
		case <-w.stop:
			return
		case b := <-w.q:
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.Webhook, bytes.NewReader(b))
			if err != nil {
				w.log.Error("call record webhook", "error", err)
				continue
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := w.cl.Do(req)
			if err != nil {
				w.log.Warn("call record webhook failed", "url", w.cfg.Webhook, "error", err)
				continue
			}
			_ = res.Body.Close()
			if res.StatusCode/100 != 2 {
				w.log.Warn("call record webhook refused", "url", w.cfg.Webhook, "status", res.StatusCode)
			}
		}
	}
}

// Close stops the webhook sender (records still queued are dropped) and
// closes the file. It is idempotent.
func (w *Writer) Close() error {
	var err error
	w.once.Do(func() {
		close(w.stop)
		w.wg.Wait()
		if w.file != nil {
			err = w.file.Close()
		}
	})
	return err
}
