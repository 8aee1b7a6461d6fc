package jobs

import (
	"net/http"
	"time"
)

// Endpoint is a Graph service to read instead of Microsoft Graph: its
// root, its identity platform and the credentials it accepts. With --demo
// the command starts the built-in emulator and describes it here; tests
// pass their own emulator the same way, and jobs never knows it is one.
type Endpoint struct {
	// GraphURL is the Graph root, e.g. https://127.0.0.1:8443/v1.0.
	GraphURL string
	// AuthorityHost is the identity platform's root, ending in "/".
	AuthorityHost string
	// TenantID and ClientID identify the application; an explicit
	// --tenant-id or --client-id still wins, so that check's diagnoses
	// can be tried against the emulator.
	TenantID, ClientID string
	// ClientSecret is the application's secret.
	ClientSecret string
	// HTTPClient sends Graph and token requests (it trusts the endpoint's
	// certificate authority).
	HTTPClient *http.Client
	// Now is the endpoint's clock: the run's now unless --now is set
	// (zero: the real clock).
	Now time.Time
}
