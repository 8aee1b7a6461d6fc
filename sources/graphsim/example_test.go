package graphsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"m365export/sources/graphsim"
)

// A client authenticates against the emulator's identity side with
// azidentity and reads Graph with the token.
func ExampleStart() {
	s, err := graphsim.Start(graphsim.Options{Users: 3, Seed: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), s.ClientID(), s.ClientSecret(),
		&azidentity.ClientSecretCredentialOptions{DisableInstanceDiscovery: true, ClientOptions: azcore.ClientOptions{
			Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()}, Transport: s.HTTPClient()}})
	if err != nil {
		panic(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("GET", s.GraphURL()+"/v1.0/users?$select=id,displayName", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct{ Value []map[string]string }
	_ = json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println(resp.StatusCode, len(page.Value), page.Value[0]["id"] == s.Tenant().UserID(0))
	// Output: 200 3 true
}
