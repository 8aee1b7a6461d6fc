package graphpath

import (
	"strings"
	"testing"
)

func TestCanonical_KeyForms(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Already canonical: unchanged.
		{"", ""},
		{"/v1.0/users", "/v1.0/users"},
		{"/v1.0/users/u1/chats/getAllMessages", "/v1.0/users/u1/chats/getAllMessages"},
		// Key syntax, as Microsoft documents getAllMessages' next links.
		{"/v1.0/users('u1')/chats/getallMessages", "/v1.0/users/u1/chats/getallMessages"},
		{"/v1.0/teams('t1')/channels/getallMessages", "/v1.0/teams/t1/channels/getallMessages"},
		{"/beta/users('u1')/messages", "/beta/users/u1/messages"},
		{"/v1.0/copilot/users('u1')/interactionHistory/getAllEnterpriseInteractions", "/v1.0/copilot/users/u1/interactionHistory/getAllEnterpriseInteractions"},
		{"/v1.0/users('upn@contoso.com')/messages", "/v1.0/users/upn@contoso.com/messages"},
		{"/v1.0/users('upn%40contoso.com')/messages", "/v1.0/users/upn%40contoso.com/messages"},
		{"/v1.0/users(id='u1')/messages", "/v1.0/users/u1/messages"},
		{"/v1.0/users(Id='u1')/messages", "/v1.0/users/u1/messages"},
		{"/v1.0/users(%27u1%27)/messages", "/v1.0/users/u1/messages"},
		{"/v1.0/users(id=%27u1%27)/messages", "/v1.0/users/u1/messages"},
		{"/v1.0/users('o''brien@contoso.com')/messages", "/v1.0/users/o'brien@contoso.com/messages"},
		{"/v1.0/users('u1')", "/v1.0/users/u1"},
		{"/v1.0/users('u1')/mailFolders('SentItems')/messages", "/v1.0/users/u1/mailFolders/SentItems/messages"},
		{"/v1.0/teams('t1')/channels('c1')/messages/delta", "/v1.0/teams/t1/channels/c1/messages/delta"},
		{"/v1.0/users('a%2Fb')/messages", "/v1.0/users/a%2Fb/messages"},
		// Not keys: function calls, composite and alternate keys, broken quoting.
		{"/v1.0/users/u1/messages/delta()", "/v1.0/users/u1/messages/delta()"},
		{"/v1.0/users('u1')/messages/delta()", "/v1.0/users/u1/messages/delta()"},
		{"/v1.0/teams/t1/channels/getAllMessages(model='A')", "/v1.0/teams/t1/channels/getAllMessages(model='A')"},
		{"/v1.0/applications(appId='a1')", "/v1.0/applications(appId='a1')"},
		{"/v1.0/x(a='1',b='2')", "/v1.0/x(a='1',b='2')"},
		{"/v1.0/users('u1", "/v1.0/users('u1"},
		{"/v1.0/users('u1'x)", "/v1.0/users('u1'x)"},
		{"/v1.0/users('')/messages", "/v1.0/users('')/messages"},
		{"/v1.0/users(u1)/messages", "/v1.0/users(u1)/messages"},
	} {
		if got := Canonical(c.in); got != c.want {
			t.Errorf("Canonical(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCanonical_Idempotent(t *testing.T) {
	for _, p := range []string{
		"/v1.0/users('u1')/chats/getallMessages",
		"/v1.0/users('o''b')/mailFolders(%27SentItems%27)/messages",
		"/v1.0/users/u1/messages/delta()",
	} {
		once := Canonical(p)
		if twice := Canonical(once); twice != once {
			t.Errorf("Canonical(Canonical(%q)) = %q, want %q", p, twice, once)
		}
	}
}

func TestCanonical_NoAllocWhenCanonical(t *testing.T) {
	p := "/v1.0/users/u1/chats/getAllMessages"
	if n := testing.AllocsPerRun(100, func() { _ = Canonical(p) }); n != 0 {
		t.Errorf("Canonical(%q) allocates %v times, want 0", p, n)
	}
}

func FuzzCanonical(f *testing.F) {
	f.Add("/v1.0/users('u1')/chats/getallMessages")
	f.Add("/v1.0/users(id=%27u''1%27)/x('a')")
	f.Fuzz(func(t *testing.T, p string) {
		got := Canonical(p)
		if !strings.Contains(p, "(") && got != p {
			t.Errorf("Canonical(%q) = %q, want it unchanged", p, got)
		}
		if strings.Count(got, "/") < strings.Count(p, "/") {
			t.Errorf("Canonical(%q) = %q lost a segment", p, got)
		}
	})
}
