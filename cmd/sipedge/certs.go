package main

import (
	"github.com/sipedge/sipedge/gateway/admin"
	edgetls "github.com/sipedge/sipedge/tls"
)

// certSource is the admin server's view of the TLS certificates in
// service (GET /api/v1/tls, sipedge_tls_certificate_expiry_timestamp_seconds):
// read from the certificate set at each call, so a reload, a file change
// picked up by the watcher or an ACME renewal shows at once.
type certSource struct{ certs *edgetls.Certificates }

var _ admin.Certificates = certSource{}

// ListCertificates implements admin.Certificates.
func (c certSource) ListCertificates() any {
	in := c.certs.InService()
	if in == nil {
		in = []edgetls.InService{}
	}
	return map[string]any{"certificates": in}
}

// CertificateExpiries implements admin.Certificates.
func (c certSource) CertificateExpiries() []admin.CertificateExpiry {
	in := c.certs.InService()
	out := make([]admin.CertificateExpiry, 0, len(in))
	for _, ci := range in {
		out = append(out, admin.CertificateExpiry{Name: ci.Name, NotAfter: ci.NotAfter})
	}
	return out
}
