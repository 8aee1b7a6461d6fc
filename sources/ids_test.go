package sources

import (
	"slices"
	"testing"
)

func TestIDs_RoundTrip(t *testing.T) {
	in := []string{"a", "", "00000000-0000-0000-0000-000000000001", "ü-id", "x"}
	l := CompactIDs(in)
	if l.Len() != len(in) {
		t.Fatalf("Len = %d, want %d", l.Len(), len(in))
	}
	for i, want := range in {
		if got := l.At(i); got != want {
			t.Errorf("At(%d) = %q, want %q", i, got, want)
		}
	}
	if got := l.Strings(); !slices.Equal(got, in) {
		t.Errorf("Strings = %q, want %q", got, in)
	}
	var empty *IDs
	if empty.Len() != 0 {
		t.Error("nil IDs is not empty")
	}
}
