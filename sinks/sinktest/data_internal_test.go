package sinktest

import (
	"encoding/json"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"

	"m365export/sinks/parquetsink"
)

func TestAppendTime_MatchesTimeFormat(t *testing.T) {
	for _, sec := range []int64{0, 951782400, 1709251199, 1709251200, 4102444799, 1234567890} {
		want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05Z")
		if got := string(appendTime(nil, sec, "Z")); got != want {
			t.Errorf("appendTime(%d) = %s, want %s", sec, got, want)
		}
	}
}

func TestMessageJSON_ValidAndDistinct(t *testing.T) {
	ids := map[string]bool{}
	for i := range 2000 {
		var m struct {
			ID           string `json:"id"`
			SentDateTime string `json:"sentDateTime"`
		}
		if err := json.Unmarshal(MessageJSON(nil, i), &m); err != nil {
			t.Fatalf("MessageJSON(%d): %v", i, err)
		}
		if ids[m.ID] {
			t.Fatalf("MessageJSON(%d): duplicate id", i)
		}
		ids[m.ID] = true
		if _, err := time.Parse(time.RFC3339, m.SentDateTime); err != nil {
			t.Errorf("MessageJSON(%d).sentDateTime: %v", i, err)
		}
	}
}

func TestRecordJSON_Valid(t *testing.T) {
	for i := range 500 {
		if !json.Valid(RecordJSON(i)) {
			t.Fatalf("RecordJSON(%d) is not valid JSON: %s", i, RecordJSON(i))
		}
	}
}

func TestDataPageVersions_Counts(t *testing.T) {
	for _, compat := range []bool{false, true} {
		b := memblob.OpenBucket(nil)
		s, err := parquetsink.New(b, &parquetsink.Options{Compat: compat})
		if err != nil {
			t.Fatal(err)
		}
		writePartition(t, s, Table, "2024-03-01", Records(0, 40, "r"), manifest("r", 1))
		data, err := b.ReadAll(t.Context(), partDir(Table, "2024-03-01")+"part-0-0.parquet")
		if err != nil {
			t.Fatal(err)
		}
		v1, v2, err := dataPageVersions(data)
		if err != nil {
			t.Fatal(err)
		}
		if compat && (v1 == 0 || v2 != 0) || !compat && (v2 == 0 || v1 != 0) {
			t.Errorf("compat=%t: v1=%d v2=%d", compat, v1, v2)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
