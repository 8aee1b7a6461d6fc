package jobs

import "m365export/sources/graphsim"

// simEndpoint describes a test's emulator as the Graph service to read, as
// cmd/export does for --demo.
func simEndpoint(s *graphsim.Server) *Endpoint {
	return &Endpoint{
		GraphURL:      s.GraphURL(),
		AuthorityHost: s.AuthorityHost(),
		TenantID:      s.TenantID(),
		ClientID:      s.ClientID(),
		ClientSecret:  s.ClientSecret(),
		HTTPClient:    s.HTTPClient(),
		Now:           s.Tenant().Now(),
	}
}
