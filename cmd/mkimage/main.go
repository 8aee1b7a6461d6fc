// Command mkimage builds m365export's container image without Docker: a
// multi-platform OCI image index (linux/amd64 and linux/arm64 by default)
// whose images hold one layer, the static binary (CGO_ENABLED=0,
// -trimpath) at /m365export, and nothing else: no shell, no base image.
// The binary carries its own root certificates
// (golang.org/x/crypto/x509roots/fallback, imported by cmd/export), so TLS
// to Graph and the buckets works without a /etc/ssl.
//
// Each image runs as the non-root user 65532:65532 with the binary as its
// entrypoint, and carries the OCI labels org.opencontainers.image.source,
// .version and .revision (the VCS revision the Go toolchain stamped into
// the binary, "unknown" without one). It is written as an OCI image layout
// directory (-out), and optionally as a tarball of that layout (-tar), which
// `crane push`, `skopeo copy oci:DIR` or `podman load` take.
//
//	go run ./cmd/mkimage -out bin/image -version v1.2.3
//
// # Config
//
// Flags: -out, -tar, -platforms, -version, -source, -pkg. The binary is
// built with the go command on PATH (or $GO).
//
// # Errors
//
// A failed build or write exits 1 and leaves no layout behind: the layout
// is written next to -out and renamed into place when complete.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	var platforms string
	fs.StringVar(&o.Out, "out", "bin/image", "OCI image layout directory to write (replaced)")
	fs.StringVar(&o.Tar, "tar", "", "also write the layout as this tar file (optional)")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch pairs")
	fs.StringVar(&o.Version, "version", "dev", "the exporter's version: m365export/jobs.Version in the binary and the version label")
	fs.StringVar(&o.Source, "source", "https://github.com/m365export/m365export", "the org.opencontainers.image.source label")
	fs.StringVar(&o.Package, "pkg", "./cmd/export", "the main package to build")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, p := range strings.Split(platforms, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || osName == "" || arch == "" {
			return fmt.Errorf("-platforms: %q is not os/arch", p)
		}
		o.Platforms = append(o.Platforms, Platform{OS: osName, Arch: arch})
	}
	o.Log = stderr
	digest, err := Build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s (index %s)\n", o.Out, digest)
	return nil
}
