package graphsim

import (
	"encoding/json"
	"time"
)

// The ground-truth oracle, m365export/sources/graphsim/simtruth, imports
// this package, so these internal tests cannot import it. The external test
// package installs it instead (simtruth_test.go), before any test runs.
var (
	// truthCollections is simtruth.Collections.
	truthCollections map[string]string
	// truthOwners is simtruth.Owners.
	truthOwners func(t *Tenant, collection string) []string
	// truthSelect is simtruth.TruthSelect.
	truthSelect func(t *Tenant, coll, owner string, from, to time.Time, sel []string) []json.RawMessage
)

// InstallTruth installs the oracle for the internal tests; only
// simtruth_test.go calls it.
func InstallTruth(collections map[string]string,
	o func(t *Tenant, collection string) []string,
	sel func(t *Tenant, coll, owner string, from, to time.Time, sel []string) []json.RawMessage) {
	truthCollections, truthOwners, truthSelect = collections, o, sel
}

// truth is simtruth.Truth.
func truth(t *Tenant, coll, owner string, from, to time.Time) []json.RawMessage {
	return truthSelect(t, coll, owner, from, to, nil)
}
