package jobs

import (
	"fmt"

	"m365export/jobs/connector"
	// Every connector registers itself; the job reads the registry.
	_ "m365export/jobs/connectors/all"
)

// ConnectorNames lists the registered connectors, sorted.
func ConnectorNames() []string { return connector.Names() }

// Scopes returns the sorted union of the application permissions the named
// connectors need, for one shared Entra ID application.
func Scopes(connectors []string) ([]string, error) {
	s, err := connector.Scopes(connectors)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return s, nil
}
