package tls

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"slices"
	"time"
)

// InService describes one certificate in service: one handshakes can get
// now. The admin API lists them and /metrics exports their expiry.
type InService struct {
	// Name identifies the certificate: "default" for the cert/key pair,
	// else the first of its names (certificates[].names, or the acme.names
	// entry it was obtained for).
	Name string `json:"name"`
	// Source is "file" (cert/key, certificates) or "acme".
	Source string `json:"source"`
	// File is the certificate file ("" for acme).
	File string `json:"file,omitempty"`
	// Names are the DNS names and IP addresses the leaf is for.
	Names     []string  `json:"names"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// DefaultName is the InService name of the cert/key pair.
const DefaultName = "default"

// InService lists the certificates in service: the loaded files in
// configuration order (as the last reload left them), then each
// certificate ACME has in its cache for acme.names (obtained, renewed or
// loaded from storage), once each.
func (s *Certificates) InService() []InService {
	var out []InService
	set := s.cur.Load()
	off := 0
	if s.cfg.Cert != "" {
		off = 1
		if len(set.pairs) > 0 {
			out = appendInService(out, DefaultName, "file", s.cfg.Cert, set.pairs[0])
		}
	}
	for i, p := range s.cfg.Certificates {
		if off+i >= len(set.pairs) || len(p.Names) == 0 {
			continue
		}
		out = appendInService(out, p.Names[0], "file", p.Cert, set.pairs[off+i])
	}
	if s.acme == nil {
		return out
	}
	var seen []string // serials
	for _, n := range s.cfg.ACME.Names {
		for _, c := range s.acme.cache.AllMatchingCertificates(n) {
			before := len(out)
			out = appendInService(out, n, "acme", "", &c.Certificate)
			if len(out) == before {
				continue
			}
			if serial := out[len(out)-1].Serial; slices.Contains(seen, serial) {
				out = out[:before]
			} else {
				seen = append(seen, serial)
			}
		}
	}
	return out
}

// appendInService appends c's leaf as name, unless c has no leaf that
// parses.
func appendInService(out []InService, name, source, file string, c *stdtls.Certificate) []InService {
	leaf := c.Leaf
	if leaf == nil {
		if len(c.Certificate) == 0 {
			return out
		}
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return out
		}
	}
	names := slices.Clone(leaf.DNSNames)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return append(out, InService{Name: name, Source: source, File: file, Names: names,
		Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), Serial: leaf.SerialNumber.String(),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()})
}
