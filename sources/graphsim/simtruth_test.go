package graphsim_test

import (
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// The internal tests compare what the emulator serves with its oracle,
// which they cannot import (see truth_test.go).
func init() { graphsim.InstallTruth(simtruth.Collections, simtruth.Owners, simtruth.TruthSelect) }
