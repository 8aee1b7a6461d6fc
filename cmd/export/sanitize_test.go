package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestRun_Sanitize(t *testing.T) {
	t.Setenv("M365EXPORT_SALT", "demo-salt")
	t.Setenv("M365EXPORT_ENCRYPTION_KEY", "demo-key")
	page, err := os.ReadFile("../../testdata/demo/sentitems.json")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1.0/users/0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c/mailFolders/SentItems/messages"
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"sanitize", "--connector", "outlook-mail", "--path", path}, bytes.NewReader(page), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "Adele") || !strings.Contains(stdout.String(), `"address":"t~`) {
		t.Errorf("stdout is not the sanitized page: %.300s", stdout.String())
	}

	for _, tc := range []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"disallowed path", []string{"sanitize", "--connector", "outlook-mail", "--path", "/v1.0/me/messages"}, string(page), "not allowed"},
		{"not JSON", []string{"sanitize", "--connector", "outlook-mail", "--path", path}, "<html>", "byte offset 0"},
		{"unknown flag", []string{"sanitize", "--colour", "red"}, "", "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, strings.NewReader(tc.in), &stdout, &stderr)
			if code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, one line with %q", code, stdout.String(), stderr.String(), tc.want)
			}
		})
	}

	t.Setenv("M365EXPORT_SALT", "")
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"sanitize", "--connector", "outlook-mail", "--path", path}, bytes.NewReader(page), &stdout, &stderr); code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), "salt") {
		t.Errorf("missing salt: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
