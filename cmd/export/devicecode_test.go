package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"m365export/jobs"
	"m365export/sources/graphsim"
)

// promptWriter is the command's stderr: it hands on the user code of the
// first device-code prompt written to it.
type promptWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	codes chan string
	sent  bool
}

var promptRE = regexp.MustCompile(`open the page (\S+) and enter the code ([A-Z0-9]+) to authenticate`)

func (p *promptWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, _ := p.buf.Write(b)
	if m := promptRE.FindStringSubmatch(p.buf.String()); m != nil && !p.sent && m[1] == graphsim.DeviceLoginURL {
		p.sent = true
		p.codes <- m[2]
	}
	return n, nil
}

func (p *promptWriter) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// TestSetup_DeviceCodeSignIn runs setup with --sign-in device-code against
// the emulator's device authorization grant: the prompt on stderr names
// the verification page and the user code; a Cloud Application
// Administrator signing in with that code makes apply succeed (the
// application created, the person its owner, who then plans without a role
// and without --tenant-id, through the organizations authority); a declined sign-in exits 2
// and an expired code exits 1, each saying so, with nothing created.
func TestSetup_DeviceCodeSignIn(t *testing.T) {
	var skew atomic.Int64
	sim, err := graphsim.Start(graphsim.Options{Users: 10, StrictApps: true,
		Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	// person acts on the user code while setup waits for the sign-in.
	// tenant: --tenant-id, or "" for none (the authority's organizations).
	setupIn := func(tenant, verb string, person func(userCode string)) (runResult, string) {
		t.Helper()
		args := []string{"setup", verb, "--connector", strings.Join(jobs.ConnectorNames(), ",")}
		if tenant != "" {
			args = append(args, "--tenant-id", tenant)
		}
		args = append(args, "--oidc-issuer", sim.TestIssuer(), "--oidc-subject", graphsim.DefaultSubject, "--sign-in", "device-code",
			"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--ca-file", ca)
		stderr := &promptWriter{codes: make(chan string, 1)}
		var stdout bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(context.Background(), args, strings.NewReader(""), &stdout, stderr) }()
		var code string
		select {
		case code = <-stderr.codes:
			person(code)
		case c := <-done:
			t.Fatalf("setup %s ended before prompting: %s", verb, runResult{c, stdout.String(), stderr.String()})
		}
		return runResult{<-done, stdout.String(), stderr.String()}, code
	}
	setup := func(verb string, person func(userCode string)) (runResult, string) {
		t.Helper()
		return setupIn(sim.TenantID(), verb, person)
	}

	r, code := setup("apply", func(code string) {
		if err := sim.ApproveDeviceCode(code, "admin@contoso.example", graphsim.RoleCloudAppAdmin); err != nil {
			t.Error(err)
		}
	})
	if r.code != exitOK || !strings.Contains(r.stderr, code) || !strings.Contains(r.stderr, graphsim.DeviceLoginURL) ||
		!strings.Contains(r.stdout, `+ application "m365export"`) {
		t.Fatalf("apply signed in with a device code: %s", r)
	}
	apps := sim.Apps()
	if len(apps) != 1 {
		t.Fatalf("%d applications after apply", len(apps))
	}
	if r, _ = setupIn("", "plan", func(code string) {
		if err := sim.ApproveDeviceCode(code, "admin@contoso.example"); err != nil {
			t.Error(err)
		}
	}); r.code != exitOK || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("plan after apply, as the application's owner signed in through organizations: %s", r)
	}

	r, _ = setup("apply", func(code string) {
		if err := sim.DeclineDeviceCode(code); err != nil {
			t.Error(err)
		}
	})
	if r.code != exitUsage || !strings.Contains(r.stderr, "sign-in was declined") {
		t.Errorf("declined sign-in: %s", r)
	}

	r, code = setup("apply", func(string) { skew.Store(int64(16 * time.Minute)) })
	if r.code != exitFailed || !strings.Contains(r.stderr, "code expired before anyone signed in") {
		t.Errorf("expired code: %s", r)
	}
	if err := sim.ApproveDeviceCode(code, "late@contoso.example", graphsim.RoleCloudAppAdmin); err == nil {
		t.Error("an expired code was approved")
	}
	if n := len(sim.Apps()); n != 1 {
		t.Errorf("%d applications after the refused sign-ins; want the 1 made before", n)
	}
}
