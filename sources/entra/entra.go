// Package entra is a small typed client for the Microsoft Graph directory
// endpoints that set up an application: applications, their federated
// identity credentials and owners, service principals and app role
// assignments (Graph v1.0, as learn.microsoft.com documents each: POST
// /applications, PATCH /applications/{id}, POST
// /applications/{id}/federatedIdentityCredentials, POST
// /applications/{id}/owners/$ref, POST /servicePrincipals, GET
// /servicePrincipals(appId='…'), POST
// /servicePrincipals/{resource-id}/appRoleAssignedTo). It calls them as a
// signed-in person (a delegated token), never as the exporter's workload
// identity, and returns Graph's refusals as *Error with Graph's code.
package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// GraphAppID is Microsoft Graph's Application (client) ID, the same in
// every tenant.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// Client calls Graph's directory endpoints.
type Client struct {
	// GraphURL is Graph's root without version (https://graph.microsoft.com).
	GraphURL string
	// HTTP sends the requests (nil: http.DefaultClient).
	HTTP *http.Client
	// Token returns the signed-in person's access token for Graph.
	Token func(ctx context.Context) (string, error)
}

// Error is Graph's answer to a refused or failed request.
type Error struct {
	Status        int
	Code, Message string
	// Method and Path name the request (the path carries object ids only).
	Method, Path string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is Graph's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsDenied reports whether err is Graph's 403 Authorization_RequestDenied
// (the signed-in person lacks the directory role for the operation).
func IsDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusForbidden
}

// Application is an application object (Graph's application resource).
type Application struct {
	ID                     string                   `json:"id,omitempty"`
	AppID                  string                   `json:"appId,omitempty"`
	DisplayName            string                   `json:"displayName"`
	SignInAudience         string                   `json:"signInAudience,omitempty"`
	RequiredResourceAccess []RequiredResourceAccess `json:"requiredResourceAccess"`
}

// RequiredResourceAccess is the permissions an application requests of one
// resource (Graph's requiredResourceAccess).
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// ResourceAccess is one requested permission: Type "Role" for an
// application permission (app role), "Scope" for a delegated one.
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// FederatedCredential is a federated identity credential.
type FederatedCredential struct {
	ID          string   `json:"id,omitempty"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description,omitempty"`
}

// ServicePrincipal is a service principal with the app roles it publishes.
type ServicePrincipal struct {
	ID          string    `json:"id,omitempty"`
	AppID       string    `json:"appId"`
	DisplayName string    `json:"displayName,omitempty"`
	AppRoles    []AppRole `json:"appRoles,omitempty"`
}

// AppRole is an application permission a resource publishes.
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
}

// AppRoleAssignment grants principal PrincipalID app role AppRoleID of
// resource ResourceID (admin consent to an application permission).
type AppRoleAssignment struct {
	ID          string `json:"id,omitempty"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	AppRoleID   string `json:"appRoleId"`
}

// DirectoryObject is an owner: a user or a service principal.
type DirectoryObject struct {
	ID                string `json:"id"`
	Type              string `json:"@odata.type,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// Me returns the signed-in person.
func (c *Client) Me(ctx context.Context) (DirectoryObject, error) {
	var me DirectoryObject
	err := c.do(ctx, http.MethodGet, "/v1.0/me", nil, &me)
	return me, err
}

// ApplicationByAppID gets an application by its Application (client) ID.
func (c *Client) ApplicationByAppID(ctx context.Context, appID string) (*Application, error) {
	var a Application
	if err := c.do(ctx, http.MethodGet, "/v1.0/applications(appId='"+url.PathEscape(appID)+"')", nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Application gets an application by its Object ID.
func (c *Client) Application(ctx context.Context, objectID string) (*Application, error) {
	var a Application
	if err := c.do(ctx, http.MethodGet, "/v1.0/applications/"+url.PathEscape(objectID), nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ApplicationsNamed lists the applications with that display name.
func (c *Client) ApplicationsNamed(ctx context.Context, name string) ([]Application, error) {
	q := url.Values{"$filter": {"displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"}}
	return list[Application](ctx, c, "/v1.0/applications?"+q.Encode())
}

// CreateApplication creates an application; the caller becomes its owner.
func (c *Client) CreateApplication(ctx context.Context, a Application) (*Application, error) {
	var out Application
	if err := c.do(ctx, http.MethodPost, "/v1.0/applications", a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetRequiredResourceAccess replaces the application's requested
// permissions.
func (c *Client) SetRequiredResourceAccess(ctx context.Context, objectID string, rra []RequiredResourceAccess) error {
	body := map[string]any{"requiredResourceAccess": rra}
	return c.do(ctx, http.MethodPatch, "/v1.0/applications/"+url.PathEscape(objectID), body, nil)
}

// FederatedCredentials lists the application's federated identity
// credentials.
func (c *Client) FederatedCredentials(ctx context.Context, objectID string) ([]FederatedCredential, error) {
	return list[FederatedCredential](ctx, c, "/v1.0/applications/"+url.PathEscape(objectID)+"/federatedIdentityCredentials")
}

// AddFederatedCredential adds one.
func (c *Client) AddFederatedCredential(ctx context.Context, objectID string, f FederatedCredential) (*FederatedCredential, error) {
	var out FederatedCredential
	if err := c.do(ctx, http.MethodPost, "/v1.0/applications/"+url.PathEscape(objectID)+"/federatedIdentityCredentials", f, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteFederatedCredential removes one by id.
func (c *Client) DeleteFederatedCredential(ctx context.Context, objectID, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1.0/applications/"+url.PathEscape(objectID)+"/federatedIdentityCredentials/"+url.PathEscape(id), nil, nil)
}

// Owners lists the application's owners.
func (c *Client) Owners(ctx context.Context, objectID string) ([]DirectoryObject, error) {
	return list[DirectoryObject](ctx, c, "/v1.0/applications/"+url.PathEscape(objectID)+"/owners")
}

// AddOwner makes directory object ownerID an owner of the application.
func (c *Client) AddOwner(ctx context.Context, objectID, ownerID string) error {
	ref := map[string]string{"@odata.id": strings.TrimSuffix(c.GraphURL, "/") + "/v1.0/directoryObjects/" + ownerID}
	return c.do(ctx, http.MethodPost, "/v1.0/applications/"+url.PathEscape(objectID)+"/owners/$ref", ref, nil)
}

// ServicePrincipalByAppID gets the service principal of an application;
// nil when it has none.
func (c *Client) ServicePrincipalByAppID(ctx context.Context, appID string) (*ServicePrincipal, error) {
	var sp ServicePrincipal
	err := c.do(ctx, http.MethodGet, "/v1.0/servicePrincipals(appId='"+url.PathEscape(appID)+"')", nil, &sp)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sp, nil
}

// CreateServicePrincipal creates the service principal of an application.
func (c *Client) CreateServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	var out ServicePrincipal
	if err := c.do(ctx, http.MethodPost, "/v1.0/servicePrincipals", ServicePrincipal{AppID: appID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AppRoleAssignments lists the app roles granted to service principal spID.
func (c *Client) AppRoleAssignments(ctx context.Context, spID string) ([]AppRoleAssignment, error) {
	return list[AppRoleAssignment](ctx, c, "/v1.0/servicePrincipals/"+url.PathEscape(spID)+"/appRoleAssignments")
}

// Assign grants app role roleID of resource service principal resourceID
// to principalID (through the resource's appRoleAssignedTo, as Microsoft
// recommends).
func (c *Client) Assign(ctx context.Context, resourceID, principalID, roleID string) (*AppRoleAssignment, error) {
	var out AppRoleAssignment
	in := AppRoleAssignment{PrincipalID: principalID, ResourceID: resourceID, AppRoleID: roleID}
	if err := c.do(ctx, http.MethodPost, "/v1.0/servicePrincipals/"+url.PathEscape(resourceID)+"/appRoleAssignedTo", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Unassign removes an app role assignment of resource resourceID.
func (c *Client) Unassign(ctx context.Context, resourceID, assignmentID string) error {
	return c.do(ctx, http.MethodDelete, "/v1.0/servicePrincipals/"+url.PathEscape(resourceID)+"/appRoleAssignedTo/"+url.PathEscape(assignmentID), nil, nil)
}

// list pages through a collection by @odata.nextLink.
func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var out []T
	for next := path; next != ""; {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}

// do sends one request; path is relative to GraphURL or an absolute
// nextLink on it.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("sign-in: %w", err)
	}
	u := path
	if !strings.HasPrefix(path, "https://") && !strings.HasPrefix(path, "http://") {
		u = strings.TrimSuffix(c.GraphURL, "/") + path
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read in full below; a close error changes nothing
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode, Method: method, Path: strings.SplitN(path, "?", 2)[0]}
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		return e
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: response: %w", method, path, err)
		}
	}
	return nil
}
