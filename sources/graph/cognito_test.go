package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"m365export/sources"
)

func TestCognitoAssertion(t *testing.T) {
	var target, auth string
	var in map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, auth = r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &in); err != nil {
			t.Errorf("request body: %v", err)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"IdentityId":"us-east-1:abcd","Token":"cognito.jwt.token"}`))
	}))
	defer srv.Close()
	cfg := aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	}
	get, err := CognitoAssertion(CognitoOptions{Config: cfg, IdentityPoolID: "us-east-1:pool", DeveloperProvider: "azure-access", Login: "client-app-id", IdentityID: "us-east-1:abcd", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := get(t.Context())
	if err != nil || tok != "cognito.jwt.token" {
		t.Fatalf("assertion = %q, %v", tok, err)
	}
	if target != "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity" {
		t.Errorf("X-Amz-Target = %q", target)
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/cognito-identity/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature for cognito-identity", auth)
	}
	logins, _ := in["Logins"].(map[string]any)
	if in["IdentityPoolId"] != "us-east-1:pool" || in["IdentityId"] != "us-east-1:abcd" || logins["azure-access"] != "client-app-id" {
		t.Errorf("request = %v", in)
	}
}

func TestCognitoAssertion_NeedsSettings(t *testing.T) {
	if _, err := CognitoAssertion(CognitoOptions{}); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("CognitoAssertion(empty) = %v, want ErrConfig", err)
	}
}
