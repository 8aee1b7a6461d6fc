package graph

import (
	"fmt"
	"strings"
)

// Cloud is a Microsoft cloud: where tokens come from and where Graph
// answers. Tokens are not interchangeable across clouds, so one setting
// chooses both.
type Cloud struct {
	// Name is the setting's value: "global", "usgov-l4", "usgov-l5", "china".
	Name string
	// AuthorityHost is the login endpoint, with a trailing slash, as
	// azcore's cloud.Configuration wants it.
	AuthorityHost string
	// GraphRoot is Graph's base URL, without a trailing slash.
	GraphRoot string
}

// TokenScope is the scope a client-credentials token is requested for.
func (c Cloud) TokenScope() string { return c.GraphRoot + "/.default" }

// The national clouds Graph is deployed in (graph-api-notes §4).
var (
	Global  = Cloud{Name: "global", AuthorityHost: "https://login.microsoftonline.com/", GraphRoot: "https://graph.microsoft.com"}
	USGovL4 = Cloud{Name: "usgov-l4", AuthorityHost: "https://login.microsoftonline.us/", GraphRoot: "https://graph.microsoft.us"}
	USGovL5 = Cloud{Name: "usgov-l5", AuthorityHost: "https://login.microsoftonline.us/", GraphRoot: "https://dod-graph.microsoft.us"}
	China   = Cloud{Name: "china", AuthorityHost: "https://login.chinacloudapi.cn/", GraphRoot: "https://microsoftgraph.chinacloudapi.cn"}
)

// Clouds lists the clouds by name, in a stable order.
var Clouds = []Cloud{Global, USGovL4, USGovL5, China}

// LookupCloud returns the cloud of that name ("" is global).
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		return Global, nil
	}
	for _, c := range Clouds {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	names := make([]string, len(Clouds))
	for i, c := range Clouds {
		names[i] = c.Name
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(names, ", "))
}
