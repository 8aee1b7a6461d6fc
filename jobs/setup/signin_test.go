package setup

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"m365export/jobs"
)

// oauthRefusals keeps the OAuth error of a token endpoint's 400 (its first
// line, without trace ids) and leaves the body whole for MSAL to read.
func TestOAuthRefusals_RemembersTokenEndpointErrors(t *testing.T) {
	const body = `{"error":"authorization_declined","error_description":"AADSTS70000: The user declined. Trace ID: 1\r\nCorrelation ID: 2"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	o := &oauthRefusals{next: srv.Client()}
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		resp, err := o.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if b := get("/t/oauth2/v2.0/devicecode"); b != body {
		t.Errorf("body %q", b)
	}
	if code, _ := o.last(); code != "" {
		t.Errorf("a devicecode answer remembered: %q", code)
	}
	if b := get("/t/oauth2/v2.0/token"); b != body {
		t.Errorf("body after reading it %q", b)
	}
	if code, desc := o.last(); code != "authorization_declined" || desc != "AADSTS70000: The user declined." {
		t.Errorf("remembered %q %q", code, desc)
	}
	o.reset()
	if code, desc := o.last(); code != "" || desc != "" {
		t.Errorf("after reset %q %q", code, desc)
	}
}

func TestDeviceCodeError(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(live)
	cancel()
	msal := errors.New("DeviceCodeCredential authentication failed")
	for _, c := range []struct {
		code     string
		canceled bool // the command's own context is done
		err      error
		usage    bool
		want     string
	}{
		{"authorization_declined", false, msal, true, "sign-in was declined (AADSTS70000: x)"},
		{"expired_token", false, msal, false, "code expired before anyone signed in"},
		{"", false, context.DeadlineExceeded, false, "code expired before anyone signed in"}, // MSAL's own deadline
		{"invalid_client", false, msal, false, "device-code sign-in refused: invalid_client: AADSTS70000: x"},
		{"", true, context.Canceled, false, "device-code sign-in: context canceled"},
	} {
		r := &oauthRefusals{code: c.code, desc: "AADSTS70000: x"}
		ctx := live
		if c.canceled {
			ctx = gone
		}
		err := deviceCodeError(ctx, c.err, r)
		if !strings.Contains(err.Error(), c.want) || errors.Is(err, jobs.ErrUsage) != c.usage {
			t.Errorf("%q %v: %v (usage %v)", c.code, c.err, err, errors.Is(err, jobs.ErrUsage))
		}
	}
}
