package jobs

import (
	"fmt"

	"m365export/jobs/connector"
	// Every connector registers itself; the job reads the registry.
	_ "m365export/jobs/connectors/all"
)

// ConnectorNames lists the registered connectors, sorted.
func ConnectorNames() []string { return connector.Names() }

// Needs says what a run reads besides its collections (see
// connector.Needs): --no-groups leaves the group collections out, and a
// user scope by group reads group memberships.
type Needs = connector.Needs

// Scopes returns the least-privileged application permissions the named
// connectors need for runs with needs n, for one shared Entra ID
// application.
func Scopes(connectors []string, n Needs) ([]string, error) {
	s, err := connector.Scopes(connectors, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return s, nil
}
