package parquetsink

import (
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"

	"m365export/sinks"
)

// TestCommit_RefusedWhileAdopting: a Commit of a partition whose staged
// files an Adopt is still checking is refused, since its cleanup would
// remove them; once the Adopt returned, even refused, Commit works.
func TestCommit_RefusedWhileAdopting(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	s, err := New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl := sinks.Table{Connector: "c", Collection: "widgets", Schema: &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "id", Type: sinks.String}}}}
	const dt = "2024-03-01"
	k := partKey{"c", "widgets", dt, 0}
	// As Adopt leaves it while it checks files outside the lock.
	s.pending[k] = &pendingPart{adopting: 1}
	err = s.Commit(t.Context(), tbl, dt, sinks.Manifest{RunID: "r"})
	if err == nil || !strings.Contains(err.Error(), "adopted") {
		t.Errorf("Commit during Adopt = %v, want a refusal", err)
	}
	s.pending[k].adopting = 0

	missing := []sinks.StagedFile{{Key: "c/_staging/widgets/dt=" + dt + "/part-0-0.tok.tmp", Name: "part-0-0.parquet", Bytes: 1}}
	if err := s.Adopt(t.Context(), tbl, dt, missing); err == nil {
		t.Fatal("Adopt of a missing file succeeded")
	}
	if p := s.pending[k]; p == nil || p.adopting != 0 {
		t.Fatalf("pending after a refused Adopt = %+v, want the earlier entry, not adopting", p)
	}
	if err := s.Commit(t.Context(), tbl, dt, sinks.Manifest{RunID: "r"}); err != nil {
		t.Errorf("Commit after a refused Adopt = %v", err)
	}
}
