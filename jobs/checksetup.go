package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"

	"m365export/jobs/connector"
	"m365export/sources/graph"
)

// warnExtraRoles warns when the token carries application permissions
// that none of the checked connectors needs (least privilege: an
// application shared with other connectors may need them; check those with
// it). A role that satisfies a needed one (Group.Read.All for
// GroupMember.Read.All) is still named: the needed one is narrower.
func warnExtraRoles(w io.Writer, roles, needed []string) {
	var extra []string
	for _, r := range roles {
		if !slices.Contains(needed, r) && !slices.Contains(extra, r) {
			extra = append(extra, r)
		}
	}
	if len(extra) == 0 {
		return
	}
	sort.Strings(extra)
	fmt.Fprintf(w, "WARN  the token carries permissions the connectors checked do not need: %s; least privilege: remove them from the application and revoke their consent (m365export setup apply, then setup grant, do both)\n",
		strings.Join(extra, ", "))
}

// mailboxPermissions are the application permissions whose data Exchange
// Online holds: an application access policy or RBAC for Applications
// limits them to a group of mailboxes.
var mailboxPermissions = []string{"Mail.ReadBasic.All", "Mail.Read", "Calendars.Read", "Calendars.ReadBasic.All", "MailboxSettings.Read"}

// ReadsMailboxes reports whether permissions include one that Exchange
// Online can scope to a group of mailboxes.
func ReadsMailboxes(permissions []string) bool {
	return slices.ContainsFunc(permissions, func(p string) bool { return slices.Contains(mailboxPermissions, p) })
}

// mailboxSample is how many users of the run's scope check reads a
// mailbox of when --include-group is set.
const mailboxSample = 20

// checkMailboxScope reports when the run's user scope (--include-group)
// and the application's Exchange Online scope (RBAC for Applications or an
// application access policy) disagree: users the run would read whose
// mailbox answers ErrorAccessDenied. Such users are skipped by an export
// (the ledger says so); it returns how many of the sample were.
func checkMailboxScope(ctx context.Context, w io.Writer, c *graph.Client, cfg *Config, specs []*connector.Connector) (int, error) {
	if len(cfg.IncludeGroup) == 0 || !slices.ContainsFunc(specs, func(s *connector.Connector) bool {
		return ReadsMailboxes(s.Permissions(cfg.needs()))
	}) {
		return 0, nil
	}
	users, err := newOwnerCache(c, cfg).users(ctx)
	if err != nil {
		return 0, err
	}
	sample := users[:min(len(users), mailboxSample)]
	denied := 0
	for _, u := range sample {
		_, err := c.Get(ctx, "/v1.0/users/"+url.PathEscape(u)+"/mailboxSettings")
		var ge *graph.Error
		if errors.As(err, &ge) && ge.Code == "ErrorAccessDenied" {
			denied++
		}
	}
	if denied > 0 {
		fmt.Fprintf(w, "WARN  mailbox scope: %d of %d users of --include-group read answer ErrorAccessDenied: the application's Exchange Online scope (RBAC for Applications or application access policy) leaves them out; make it name the same group as --include-group (an export skips them, with that reason in the ledger)\n",
			denied, len(sample))
	} else {
		fmt.Fprintf(w, "ok    mailbox scope: the %d users of --include-group read are all inside the application's mailbox scope\n", len(sample))
	}
	return denied, nil
}
