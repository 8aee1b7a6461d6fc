package sources

import (
	"slices"
	"testing"
)

func TestIDs_RoundTrip(t *testing.T) {
	in := []string{"a", "", "00000000-0000-0000-0000-000000000001", "ü-id", "x",
		"6e7b768e-07e2-4810-8459-485f84f8f204", "6E7B768E-07E2-4810-8459-485F84F8F204", // upper case stays text
		"6e7b768e-07e2-4810-8459-485f84f8f20g", "6e7b768e007e2-4810-8459-485f84f8f204", "19:abc@thread.v2"}
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
	if !l.Equal(in) || l.Equal(in[1:]) {
		t.Error("Equal is wrong")
	}
	if g := CompactIDs([]string{"6e7b768e-07e2-4810-8459-485f84f8f204"}); len(g.data) != 17 {
		t.Errorf("a GUID takes %d bytes, want 17", len(g.data))
	}
	var empty *IDs
	if empty.Len() != 0 {
		t.Error("nil IDs is not empty")
	}
}
