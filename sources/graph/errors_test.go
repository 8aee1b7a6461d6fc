package graph

import (
	"errors"
	"net/http"
	"testing"

	"m365export/sources"
)

func TestClassify_IsPureAndFlagsDenialAndFreshToken(t *testing.T) {
	for _, tc := range []struct {
		status     int
		code       string
		kind       error
		denied     bool
		freshToken bool
	}{
		{403, "ErrorAccessDenied", sources.ErrSkipOwner, true, false},
		{403, "Authorization_RequestDenied", sources.ErrConfig, true, true},
		{401, "InvalidAuthenticationToken", sources.ErrConfig, false, true},
		{401, "", nil, false, true},
		{404, "MailboxNotEnabledForRESTAPI", sources.ErrSkipOwner, false, false},
		{410, "", sources.ErrResync, false, false},
		{403, "Forbidden", nil, false, false}, // generic: classify decides by collection
	} {
		c := Classify(tc.status, tc.code)
		if c.Kind != tc.kind || c.Denied != tc.denied || c.FreshToken != tc.freshToken {
			t.Errorf("Classify(%d, %q) = %+v, want kind %v denied %v fresh token %v", tc.status, tc.code, c, tc.kind, tc.denied, tc.freshToken)
		}
	}
	e := classify(403, http.Header{}, []byte(`{"error":{"code":"ErrorAccessDenied"}}`))
	if !errors.Is(e, sources.ErrSkipOwner) || !errors.Is(e, sources.ErrDenied) {
		t.Errorf("classify(403 ErrorAccessDenied) = %v, want ErrSkipOwner and ErrDenied", e)
	}
}

func TestClassifyToken_PassesOtherErrorsThrough(t *testing.T) {
	boom := errors.New("dial tcp: connection refused")
	if got := ClassifyToken(boom); got != boom {
		t.Errorf("ClassifyToken(%v) = %v, want it unchanged", boom, got)
	}
}
