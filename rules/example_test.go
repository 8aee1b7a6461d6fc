package rules_test

import (
	"fmt"
	"testing/fstest"

	"m365export/rules"
)

func ExampleCompile() {
	src := []byte(`
endpoints:
  - pathTemplate: "/v1.0/users/{userId}/mailFolders/SentItems/messages"
    allowedQueryParams: ["$top"]
    transforms:
      - !<redact>
        jsonPaths: ["$..subject", "$..emailAddress.name"]
      - !<pseudonymize>
        jsonPaths: ["$..emailAddress.address"]
`)
	r, err := rules.Compile("example.yaml", src, rules.Secrets{Salt: "salt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := r.Sanitize("https://graph.microsoft.com/v1.0/users/42/mailFolders/SentItems/messages?$top=1",
		[]byte(`{"value":[{"subject":"Hi","from":{"emailAddress":{"name":"Megan","address":"MeganB@M365x214355.onmicrosoft.com"}}}]}`))
	fmt.Println(string(out), err)

	_, err = r.Sanitize("/v1.0/users/42/messages", []byte(`{}`))
	fmt.Println(err)
	// Output:
	// {"value":[{"from":{"emailAddress":{"address":"t~aUhZDS0Tjei4n0wfbt9bej85CgpSsYc73vYezVh5mVg@M365x214355.onmicrosoft.com"}}}]} <nil>
	// request not allowed by the rules: no endpoint of rules example.yaml matches the request path
}

func ExampleRenderBuiltin() {
	// A connector's rule template; the helpers write rule blocks for the
	// variant (here: user ids hashed irreversibly).
	tmpl := fstest.MapFS{rules.RuleTemplate: {Data: []byte(`endpoints:
  - pathTemplate: "/v1.0/users/{userId}/mailboxSettings"
    transforms:
{{userIDs "$..userId"}}`)}}
	name, src, err := rules.RenderBuiltin("example", rules.Variant{IDs: rules.IDsHashOnly, NoGroups: true}, tmpl)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := rules.Compile(name, src, rules.Secrets{Salt: "salt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := r.Sanitize("/v1.0/users/48d31887-5fad-4d73-a9f5-3c356e68a038/mailboxSettings", []byte(`{"userId":"48d31887-5fad-4d73-a9f5-3c356e68a038"}`))
	fmt.Println(name, r.NeedsKey(), string(out)[:13], err)
	// Output:
	// builtin:example?ids=hash-only&no-groups false {"userId":"t~ <nil>
}
