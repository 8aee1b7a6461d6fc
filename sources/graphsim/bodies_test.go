package graphsim

import (
	"strings"
	"testing"
)

func TestEventBody_PadsToSize(t *testing.T) {
	if got := eventBody("Agenda: x", 0); got != "<html><body><p>Agenda: x</p></body></html>" {
		t.Errorf("unpadded body %q", got)
	}
	for _, size := range []int{100, 64 << 10} {
		got := eventBody("Agenda: x", size)
		if len(got) < size || len(got) > size+len(bodyFiller) || !strings.HasPrefix(got, "<html><body><p>Agenda: x</p>") || !strings.HasSuffix(got, "</body></html>") {
			t.Errorf("size %d: body of %d bytes", size, len(got))
		}
	}
}
