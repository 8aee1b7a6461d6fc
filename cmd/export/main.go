// Command m365export exports Microsoft 365 data from Microsoft Graph,
// pseudonymized with psoxy-compatible rules, as Parquet into a bucket.
//
// The source lives in cmd/export, but the binary is installed as m365export:
// "export" is a shell builtin, so "export --connector …" never reaches a
// binary of that name.
//
// This package only parses the command line, builds the logger and maps
// errors to exit codes: 0 ok, 1 failed (safe to retry), 2 usage or
// configuration, 3 partial. The code is the error's own (jobs.Error and
// its sentinels carry it); an error without one exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	// Root certificates built in, used when the system has none (the
	// container image has no base image and no /etc/ssl).
	_ "golang.org/x/crypto/x509roots/fallback"

	"m365export/jobs"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPartial = 3
)

// command is one subcommand of m365export.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands is filled by each subcommand's file (sanitize.go, …) in init.
var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	// SIGTERM (how Kubernetes and Cloud Run stop a job) or SIGINT cancels
	// the export, which then stops within --grace-period (see runExport);
	// a second signal ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "" && len(args) == 0 {
		// A scheduler that starts the exporter with no arguments is
		// misconfigured: say how to use it and do not report success.
		usage(stderr)
		return exitUsage
	}
	if name == "help" || (name == "" && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help")) {
		usage(stdout)
		if name == "" && len(args) > 0 {
			fmt.Fprintln(stdout)
			jobs.PrintHelp(stdout)
		}
		return exitOK
	}
	if name == "version" || (name == "" && (args[0] == "--version" || args[0] == "-version")) {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if name == "" {
		name = "export"
	}
	for _, c := range commands {
		if c.name == name {
			err := c.run(ctx, args, stdin, stdout, stderr)
			return report(stderr, err)
		}
	}
	fmt.Fprintf(stderr, "m365export: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

// versionLine says which build this is: the exporter's version (set with
// -ldflags "-X m365export/jobs.Version=…"), the VCS revision and time the
// Go toolchain stamped into the binary, and the Go version.
func versionLine() string {
	rev, when, dirty := "unknown", "", ""
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				rev = st.Value
			case "vcs.time":
				when = " " + st.Value
			case "vcs.modified":
				if st.Value == "true" {
					dirty = " (modified)"
				}
			}
		}
	}
	return fmt.Sprintf("m365export %s, revision %s%s%s, %s", jobs.Version, rev, dirty, when, goVersion)
}

// report prints err once, unless it exits 0 (help was printed), and
// returns its exit code.
func report(stderr io.Writer, err error) int {
	code := exitCode(err)
	if code != exitOK {
		msg := err.Error()
		// Usage errors wrap jobs.ErrUsage first; its words add nothing.
		msg = strings.ReplaceAll(msg, jobs.ErrUsage.Error()+": ", "")
		fmt.Fprintf(stderr, "m365export: %s\n", msg)
	}
	return code
}

// exitCoder is an error that knows its exit code (jobs.Error).
type exitCoder interface{ ExitCode() int }

// exitCode is the code of the outermost error in err's chain that knows
// one; exitFailed if none does.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitFailed
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `m365export exports Microsoft 365 data (Entra ID, Outlook calendar and mail,
Teams, Copilot) from Microsoft Graph, pseudonymized with psoxy-compatible rules,
as Parquet into an S3 or GCS bucket.

Usage:
  m365export --connector NAME [flags]   run an export (see m365export export --help)
  m365export COMMAND [flags]

Commands:`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, `
Run "m365export COMMAND --help" for a command's flags.
Exit codes: 0 ok, 1 failed (safe to retry), 2 usage or configuration, 3 partial.`)
}
