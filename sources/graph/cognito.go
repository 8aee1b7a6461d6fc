package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"m365export/sources"
)

// CognitoOptions configure CognitoAssertion (the AWS setup of DESIGN.md:
// FIC issuer https://cognito-identity.amazonaws.com, subject the Cognito
// identity id, audience the identity pool id).
type CognitoOptions struct {
	// Config carries the region and the AWS credentials that may call
	// GetOpenIdTokenForDeveloperIdentity (e.g. config.LoadDefaultConfig).
	Config aws.Config
	// IdentityPoolID is the pool, e.g. "us-east-1:0000…"; it is the
	// token's audience.
	IdentityPoolID string
	// DeveloperProvider is the pool's developer provider name.
	DeveloperProvider string
	// Login is the developer user identifier the identity is bound to
	// (psoxy's setup uses the Entra application's client id).
	Login string
	// IdentityID pins the Cognito identity (the FIC's subject); "" lets
	// Cognito find or create the one bound to Login.
	IdentityID string
	// Endpoint overrides Cognito's endpoint (tests).
	Endpoint string
}

// CognitoAssertion returns an assertion provider that asks Amazon Cognito
// for an OpenID token of a developer identity
// (GetOpenIdTokenForDeveloperIdentity), signed with the AWS credentials of
// the environment the exporter runs in.
func CognitoAssertion(o CognitoOptions) (func(context.Context) (string, error), error) {
	var errs []error
	if o.IdentityPoolID == "" {
		errs = append(errs, errors.New("identity pool id is required"))
	}
	if o.DeveloperProvider == "" {
		errs = append(errs, errors.New("developer provider name is required"))
	}
	if o.Login == "" {
		errs = append(errs, errors.New("login is required"))
	}
	if o.Config.Region == "" {
		errs = append(errs, errors.New("AWS region is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cognito assertion: %w: %w", sources.ErrConfig, err)
	}
	client := cognitoidentity.NewFromConfig(o.Config, func(co *cognitoidentity.Options) {
		if o.Endpoint != "" {
			co.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	in := &cognitoidentity.GetOpenIdTokenForDeveloperIdentityInput{
		IdentityPoolId: aws.String(o.IdentityPoolID),
		Logins:         map[string]string{o.DeveloperProvider: o.Login},
	}
	if o.IdentityID != "" {
		in.IdentityId = aws.String(o.IdentityID)
	}
	return func(ctx context.Context) (string, error) {
		out, err := client.GetOpenIdTokenForDeveloperIdentity(ctx, in)
		if err != nil {
			return "", fmt.Errorf("cognito developer identity token: %w", err)
		}
		if out.Token == nil || *out.Token == "" {
			return "", errors.New("cognito developer identity token: empty token")
		}
		return *out.Token, nil
	}, nil
}
