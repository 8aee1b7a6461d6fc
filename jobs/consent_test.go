package jobs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestWriteConsent(t *testing.T) {
	var b bytes.Buffer
	err := WriteConsent(&b, ConsentOptions{Connectors: []string{"outlook-mail", "msft-teams"}, TenantID: "contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555", Cloud: "usgov-l4"})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"https://login.microsoftonline.us/contoso.onmicrosoft.com/adminconsent?client_id=11111111-2222-3333-4444-555555555555",
		"- `Mail.ReadBasic.All`", "- `ChannelMessage.Read.All`", "Privileged Role Administrator", "Cloud Application Administrator",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("consent document lacks %q", want)
		}
	}
	for _, want := range []string{
		"## 5. Request access to Microsoft's protected Teams APIs", "https://aka.ms/teamsgraph/requestaccess",
		"- `GET /v1.0/users/{id}/chats/getAllMessages` (msft-teams chat_messages)",
		"- `GET /v1.0/teams/{id}/channels/getAllMessages` (msft-teams channel_messages)",
		// The Teams application access policy of the online meetings.
		"## 6. Allow the application to read online meetings",
		`New-CsApplicationAccessPolicy -Identity m365export-meetings -AppIds "11111111-2222-3333-4444-555555555555"`,
		"Grant-CsApplicationAccessPolicy -PolicyName m365export-meetings -Global",
		"- msft-teams online_meetings (`GET /v1.0/users/{id}/onlineMeetings`", "## 7. Check",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("consent document lacks the protected-API step's %q", want)
		}
	}
	b.Reset()
	if err := WriteConsent(&b, ConsentOptions{Connectors: []string{"outlook-mail"}, TenantID: "t", ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "protected") || strings.Contains(b.String(), "AccessPolicy") || !strings.Contains(b.String(), "## 5. Check") {
		t.Errorf("outlook-mail alone: the consent document asks for protected APIs or misnumbers its steps:\n%s", b.String())
	}
	if strings.Count(out, "- `User.Read.All`") != 1 {
		t.Errorf("User.Read.All should be listed once for two connectors")
	}
	if err := WriteConsent(&b, ConsentOptions{Connectors: []string{"outlook-mail"}}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing ids: err = %v, want usage error", err)
	}
}
