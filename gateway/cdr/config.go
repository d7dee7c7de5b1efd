package cdr

import (
	"net/url"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the cdr section of the configuration file. Every call record
// is always logged (an Info line "call record" with component=cdr); these
// add other outputs.
type Config struct {
	// File, when set, is appended one JSON record per line (JSON Lines).
	// It is opened at start (created with mode 0640 if missing); rotate it
	// by renaming and restarting, or use the log line. Default: none.
	File string `yaml:"file"`
	// Webhook, when set, is an http:// or https:// URL each record is
	// POSTed to (Content-Type application/json), from a queue of
	// QueueSize: a slow webhook loses records (logged), never calls.
	// Default: none.
	Webhook string `yaml:"webhook"`
	// WebhookTimeout bounds each POST. Default 5s.
	WebhookTimeout time.Duration `yaml:"webhook_timeout"`
	// QueueSize is how many records may wait for the webhook. Default 1024.
	QueueSize int `yaml:"queue_size"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = 5 * time.Second
	}
	if c.QueueSize == 0 {
		c.QueueSize = 1024
	}
}

// Validate reports every problem in c at once. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if c.Webhook != "" {
		if u, err := url.Parse(c.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.Add("webhook", c.Webhook, "must be an http:// or https:// URL")
		}
	}
	if c.WebhookTimeout <= 0 {
		l.Add("webhook_timeout", c.WebhookTimeout, "must be > 0")
	}
	if c.QueueSize < 1 || c.QueueSize > 1<<20 {
		l.Add("queue_size", c.QueueSize, "must be 1..1048576")
	}
	return l.Err()
}
