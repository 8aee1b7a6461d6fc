package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"m365export/rules"
	"m365export/sources"
)

// keyFormSource serves a user's chat messages in two pages, as Microsoft
// documents getAllMessages: the first page's next link names the user in
// OData key form (users('{id}')/chats/getallMessages). It records the
// tokens it is asked for.
type keyFormSource struct {
	mu     sync.Mutex
	tokens []string
}

func (*keyFormSource) Partitions(context.Context) ([]string, error) { return []string{"u1"}, nil }

func keyFormNext(owner string) string {
	return "https://graph.microsoft.com/v1.0/users('" + owner + "')/chats/getallMessages?$top=2&$skiptoken=U2tpcA%3d%3d"
}

func (s *keyFormSource) Page(_ context.Context, p, token string) (sources.Page, error) {
	s.mu.Lock()
	s.tokens = append(s.tokens, token)
	s.mu.Unlock()
	msg := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"sentDateTime":"2026-11-26T10:00:00Z","from":{"user":{"id":%q}}}`, id, p)
	}
	if token == "" {
		next := keyFormNext(p)
		return sources.Page{URL: "/v1.0/users/" + p + "/chats/getAllMessages?$top=2",
			Body: []byte(`{"@odata.nextLink":"` + next + `","value":[` + msg("m1") + `]}`), Next: next}, nil
	}
	// Page 2 is fetched at the link Graph gave, so its URL is in key form.
	return sources.Page{URL: token, Body: []byte(`{"value":[` + msg("m2") + `]}`)}, nil
}

// TestRun_FollowsKeyFormLinkVerbatim checks, without the emulator, that a
// page whose URL is in key form is sanitized by the rules written for
// /users/{userId}/… (so its records are written), and that the link the
// source is asked for is the raw one Graph gave, never the rules' copy
// whose user id is a pseudonym.
func TestRun_FollowsKeyFormLinkVerbatim(t *testing.T) {
	rs, err := rules.Compile("test", []byte(`
endpoints:
  - pathTemplate: "/v1.0/users/{userId}/chats/getAllMessages"
    allowedQueryParams: ["$top", "$skiptoken"]
    transforms:
      - !<tokenize>
        jsonPaths: ["$.['@odata.nextLink']"]
        regex: "^https://[^/]+/v1\\.0/users(?:/|\\(')([^/?#]+?)(?:'\\))?/.*$"
      - !<pseudonymize>
        jsonPaths: ["$..user.id"]
        encoding: "URL_SAFE_TOKEN"
`), rules.Secrets{Salt: "s", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	src := &keyFormSource{}
	w := Window{From: day, To: day.Add(24 * time.Hour)}
	sink, s, err := runJob(t, src, Collection{Name: "chat_messages", TimeField: "sentDateTime", Sanitizer: rs}, w, 0, 1)
	if err != nil {
		t.Fatalf("Run = %v (summary %+v)", err, s)
	}
	if want := []string{"", keyFormNext("u1")}; fmt.Sprint(src.tokens) != fmt.Sprint(want) {
		t.Errorf("source asked for %q, want %q", src.tokens, want)
	}
	var n int
	for _, recs := range sink.all() {
		for _, r := range recs {
			n++
			if strings.Contains(r, `"u1"`) {
				t.Errorf("record not sanitized: %s", r)
			}
		}
	}
	if n != 2 {
		t.Errorf("wrote %d records, want 2 (both pages): %v", n, sink.all())
	}
}
