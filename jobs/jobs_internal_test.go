package jobs

import (
	"testing"

	"m365export/jobs/connector"
)

// mustConnector returns a registered connector or fails the test.
func mustConnector(t testing.TB, name string) *connector.Connector {
	t.Helper()
	c, ok := connector.Lookup(name)
	if !ok {
		t.Fatalf("connector %q is not registered", name)
	}
	return c
}
