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
	if strings.Count(out, "- `User.Read.All`") != 1 {
		t.Errorf("User.Read.All should be listed once for two connectors")
	}
	if err := WriteConsent(&b, ConsentOptions{Connectors: []string{"outlook-mail"}}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing ids: err = %v, want usage error", err)
	}
}
