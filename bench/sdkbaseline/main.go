// Command sdkbaseline is the benchmark baseline of issue 7: the
// outlook-mail export written the straightforward way with Microsoft's
// official Go SDK (msgraph-sdk-go: typed request builders, PageIterator,
// the default middleware), one user at a time, records written with
// parquet-go's generic map writer, against the same in-process Graph
// emulator that the exporter's end-to-end benchmark reads.
//
// It lives in its own module so that the main module's builds and tests
// never compile the SDK (which takes minutes and gigabytes).
//
//	go run . -users 2000 -days 7 -out /tmp/sdk-out
//
// It prints one JSON object: records, requests, seconds, records_per_s,
// requests_per_s, cpu_cores, peak_rss_mib.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/parquet-go/parquet-go"

	"m365export/sources/graphsim"
)

// message is the Parquet schema of the baseline's messages table: the
// exporter's $select, addresses pseudonymized, times as UTC microseconds.
type message struct {
	ID                         string   `parquet:"id"`
	ConversationID             string   `parquet:"conversationId,optional"`
	InternetMessageID          string   `parquet:"internetMessageId,optional"`
	CreatedDateTime            int64    `parquet:"createdDateTime,timestamp(microsecond),optional"`
	LastModifiedDateTime       int64    `parquet:"lastModifiedDateTime,timestamp(microsecond),optional"`
	SentDateTime               int64    `parquet:"sentDateTime,timestamp(microsecond),optional"`
	ReceivedDateTime           int64    `parquet:"receivedDateTime,timestamp(microsecond),optional"`
	HasAttachments             bool     `parquet:"hasAttachments,optional"`
	Importance                 string   `parquet:"importance,optional"`
	IsDraft                    bool     `parquet:"isDraft,optional"`
	IsRead                     bool     `parquet:"isRead,optional"`
	IsDeliveryReceiptRequested bool     `parquet:"isDeliveryReceiptRequested,optional"`
	IsReadReceiptRequested     bool     `parquet:"isReadReceiptRequested,optional"`
	InferenceClassification    string   `parquet:"inferenceClassification,optional"`
	Categories                 []string `parquet:"categories,list"`
	ParentFolderID             string   `parquet:"parentFolderId,optional"`
	From                       string   `parquet:"from,optional"`
	Sender                     string   `parquet:"sender,optional"`
	ToRecipients               []string `parquet:"toRecipients,list"`
	CcRecipients               []string `parquet:"ccRecipients,list"`
	BccRecipients              []string `parquet:"bccRecipients,list"`
	ReplyTo                    []string `parquet:"replyTo,list"`
	FlagStatus                 string   `parquet:"flagStatus,optional"`
	Owner                      string   `parquet:"_owner"`
	RunID                      string   `parquet:"_run_id"`
	ExportedAt                 int64    `parquet:"_exported_at,timestamp(microsecond)"`
}

type mailboxSettings struct {
	TimeZone string `parquet:"timeZone,optional"`
	Language string `parquet:"language,optional"`
	Owner    string `parquet:"_owner"`
	RunID    string `parquet:"_run_id"`
}

const mailSelect = "id,conversationId,internetMessageId,createdDateTime,lastModifiedDateTime,sentDateTime,receivedDateTime,hasAttachments,importance,isDraft,isRead,isDeliveryReceiptRequested,isReadReceiptRequested,inferenceClassification,categories,parentFolderId,from,sender,toRecipients,ccRecipients,bccRecipients,replyTo,flag"

// Result is what the baseline prints.
type Result struct {
	Records      int64   `json:"records"`
	Requests     int64   `json:"requests"`
	SkippedUsers int64   `json:"skipped_users"`
	Seconds      float64 `json:"seconds"`
	RecordsPerS  float64 `json:"records_per_s"`
	RequestsPerS float64 `json:"requests_per_s"`
	CPUCores     float64 `json:"cpu_cores"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
}

func main() {
	usersN := flag.Int("users", 2000, "users in the emulated tenant")
	days := flag.Int("days", 7, "days in the export window")
	msgs := flag.Float64("msgs", 20, "SentItems messages per user and weekday")
	out := flag.String("out", "", "output directory (default: a temporary one, removed)")
	flag.Parse()
	res, err := run(context.Background(), *usersN, *days, *msgs, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdkbaseline:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

func run(ctx context.Context, nUsers, days int, msgs float64, out string) (*Result, error) {
	if out == "" {
		d, err := os.MkdirTemp("", "sdkbaseline-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		out = d
	}
	// The same emulator as jobs' BenchmarkExport_OutlookMail.
	sim, err := graphsim.Start(graphsim.Options{Users: nUsers, Seed: 7, PlainGraph: true,
		MessagesPerUserDay: msgs, Limits: graphsim.Limits{Disabled: true}})
	if err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	defer sim.Close()
	until := sim.Tenant().Now().UTC().Truncate(24 * time.Hour)
	since := until.Add(-time.Duration(days) * 24 * time.Hour)

	cred, err := azidentity.NewClientSecretCredential(sim.TenantID(), sim.ClientID(), sim.ClientSecret(),
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: sim.AuthorityHost()},
				Transport: sim.HTTPClient(),
			},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{"https://graph.microsoft.com/.default"}, []string{"127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("auth provider: %w", err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapter(auth) // the default client and middleware
	if err != nil {
		return nil, fmt.Errorf("request adapter: %w", err)
	}
	adapter.SetBaseUrl(sim.GraphURL() + "/v1.0")
	client := msgraphsdk.NewGraphServiceClient(adapter)

	before := sim.Stats()
	cpu0, start := processCPU(), time.Now()
	runID := "sdk-baseline"
	exportedAt := time.Now().UTC().UnixMicro()
	salt := "sdk-baseline-salt"

	// Users, 999 a page.
	top := int32(999)
	ur, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top}})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	it, err := msgraphcore.NewPageIterator[models.Userable](ur, adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	var ids []string
	if err := it.Iterate(ctx, func(u models.Userable) bool {
		ids = append(ids, deref(u.GetId()))
		return true
	}); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}

	msgSchema := parquet.SchemaOf(message{})
	mbxSchema := parquet.SchemaOf(mailboxSettings{})
	writers := map[string]*dayWriter{}
	defer func() {
		for _, w := range writers {
			w.f.Close()
		}
	}()
	open := func(table, dt string, schema *parquet.Schema) (*dayWriter, error) {
		key := table + "/" + dt
		if w, ok := writers[key]; ok {
			return w, nil
		}
		dir := filepath.Join(out, table, "dt="+dt)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(filepath.Join(dir, "part-0.parquet"))
		if err != nil {
			return nil, err
		}
		w := &dayWriter{f: f, w: parquet.NewGenericWriter[map[string]any](f, schema, parquet.Compression(&parquet.Zstd))}
		writers[key] = w
		return w, nil
	}

	filter := "sentDateTime ge " + since.Format("2006-01-02T15:04:05Z") + " and sentDateTime lt " + until.Format("2006-01-02T15:04:05Z")
	mtop := int32(1000)
	var records, skipped int64
	for _, id := range ids { // one user at a time
		owner := pseudonym(salt, id)
		mr, err := client.Users().ByUserId(id).MailFolders().ByMailFolderId("SentItems").Messages().Get(ctx,
			&users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.ItemMailFoldersItemMessagesRequestBuilderGetQueryParameters{
					Filter: &filter, Orderby: []string{"sentDateTime"}, Select: strings.Split(mailSelect, ","), Top: &mtop}})
		if skip(err) {
			skipped++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		mit, err := msgraphcore.NewPageIterator[models.Messageable](mr, adapter, models.CreateMessageCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return nil, err
		}
		var werr error
		err = mit.Iterate(ctx, func(m models.Messageable) bool {
			sent := m.GetSentDateTime()
			if sent == nil {
				werr = errors.New("a message without sentDateTime")
				return false
			}
			w, err := open("messages", sent.UTC().Format("2006-01-02"), msgSchema)
			if err != nil {
				werr = err
				return false
			}
			row := messageRow(m, salt)
			row["_owner"], row["_run_id"], row["_exported_at"] = owner, runID, exportedAt
			if _, err := w.w.Write([]map[string]any{row}); err != nil {
				werr = err
				return false
			}
			records++
			return true
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		mbx, err := client.Users().ByUserId(id).MailboxSettings().Get(ctx, nil)
		if skip(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("mailbox settings: %w", err)
		}
		w, err := open("mailbox_settings", until.Format("2006-01-02"), mbxSchema)
		if err != nil {
			return nil, err
		}
		if _, err := w.w.Write([]map[string]any{{"timeZone": deref(mbx.GetTimeZone()),
			"language": localeOf(mbx), "_owner": owner, "_run_id": runID}}); err != nil {
			return nil, err
		}
	}
	for _, w := range writers {
		if err := w.w.Close(); err != nil {
			return nil, err
		}
		if err := w.f.Close(); err != nil {
			return nil, err
		}
	}
	wall := time.Since(start).Seconds()
	cpu := (processCPU() - cpu0).Seconds()
	after := sim.Stats()
	reqs := after.Served - before.Served
	return &Result{Records: records, SkippedUsers: skipped, Requests: reqs, Seconds: wall, RecordsPerS: float64(records) / wall,
		RequestsPerS: float64(reqs) / wall, CPUCores: cpu / wall, PeakRSSMiB: peakRSSMiB()}, nil
}

// skip reports whether err means "this user has no mailbox (or no longer
// exists, or is blocked by an application access policy)": a 404 or 403 from Graph, which the baseline skips as the exporter
// does.
func skip(err error) bool {
	var oe *odataerrors.ODataError
	return errors.As(err, &oe) && (oe.ResponseStatusCode == 404 || oe.ResponseStatusCode == 403)
}

type dayWriter struct {
	f *os.File
	w *parquet.GenericWriter[map[string]any]
}

func messageRow(m models.Messageable, salt string) map[string]any {
	row := map[string]any{
		"id":                         deref(m.GetId()),
		"conversationId":             deref(m.GetConversationId()),
		"internetMessageId":          deref(m.GetInternetMessageId()),
		"createdDateTime":            micros(m.GetCreatedDateTime()),
		"lastModifiedDateTime":       micros(m.GetLastModifiedDateTime()),
		"sentDateTime":               micros(m.GetSentDateTime()),
		"receivedDateTime":           micros(m.GetReceivedDateTime()),
		"hasAttachments":             derefBool(m.GetHasAttachments()),
		"isDraft":                    derefBool(m.GetIsDraft()),
		"isRead":                     derefBool(m.GetIsRead()),
		"isDeliveryReceiptRequested": derefBool(m.GetIsDeliveryReceiptRequested()),
		"isReadReceiptRequested":     derefBool(m.GetIsReadReceiptRequested()),
		"categories":                 m.GetCategories(),
		"parentFolderId":             deref(m.GetParentFolderId()),
		"from":                       addr(m.GetFrom(), salt),
		"sender":                     addr(m.GetSender(), salt),
		"toRecipients":               addrs(m.GetToRecipients(), salt),
		"ccRecipients":               addrs(m.GetCcRecipients(), salt),
		"bccRecipients":              addrs(m.GetBccRecipients(), salt),
		"replyTo":                    addrs(m.GetReplyTo(), salt),
	}
	if v := m.GetImportance(); v != nil {
		row["importance"] = v.String()
	}
	if v := m.GetInferenceClassification(); v != nil {
		row["inferenceClassification"] = v.String()
	}
	if f := m.GetFlag(); f != nil && f.GetFlagStatus() != nil {
		row["flagStatus"] = f.GetFlagStatus().String()
	}
	return row
}

// pseudonym is the baseline's sanitization: a salted SHA-256 of the
// lower-cased value (simpler and cheaper than the exporter's psoxy rules).
func pseudonym(salt, v string) string {
	h := sha256.Sum256([]byte(salt + strings.ToLower(v)))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func addr(r models.Recipientable, salt string) string {
	if r == nil || r.GetEmailAddress() == nil {
		return ""
	}
	return pseudonym(salt, deref(r.GetEmailAddress().GetAddress()))
}

func addrs(rs []models.Recipientable, salt string) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, addr(r, salt))
	}
	return out
}

func localeOf(m models.MailboxSettingsable) string {
	if l := m.GetLanguage(); l != nil {
		return deref(l.GetLocale())
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefBool(b *bool) bool { return b != nil && *b }

func micros(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UTC().UnixMicro()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
