package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestBuild_ImageRunsTheExporter builds the two-platform image as
// `make image` does, reads the OCI layout back (index, platforms, config:
// entrypoint, user, labels; the layer holds the binary and nothing else),
// then extracts the linux/amd64 binary and runs it: --version names the
// version, the revision label's value and the Go version, and a --demo
// export writes Parquet.
func TestBuild_ImageRunsTheExporter(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "image")
	tarPath := filepath.Join(dir, "image.tar")
	const version = "v9.8.7-test"
	platforms := []Platform{{"linux", "amd64"}, {"linux", "arm64"}}
	digest, err := Build(t.Context(), Options{Out: out, Tar: tarPath, Platforms: platforms, Version: version,
		Source: "https://example.com/m365export", Package: "./cmd/export", Dir: "../.."})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(tarPath); err != nil || st.Size() == 0 {
		t.Errorf("tarball %s: %v", tarPath, err)
	}
	lp, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	// The layout's index.json points at the image index Build returned.
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Digest != digest || topManifest.Manifests[0].MediaType != types.OCIImageIndex ||
		topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("layout index.json = %+v, want one OCI image index %s named %s", topManifest.Manifests, digest, version)
	}
	idx, err := top.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(platforms) {
		t.Fatalf("index has %d manifests, want %d", len(im.Manifests), len(platforms))
	}
	var amd64 v1.Image
	var revision string
	for i, d := range im.Manifests {
		want := platforms[i]
		if d.Platform == nil || d.Platform.OS != want.OS || d.Platform.Architecture != want.Arch {
			t.Errorf("manifest %d platform = %+v, want %s", i, d.Platform, want)
		}
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d media type = %s, want %s", i, d.MediaType, types.OCIManifestSchema1)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != want.OS || cf.Architecture != want.Arch {
			t.Errorf("%s config platform = %s/%s", want, cf.OS, cf.Architecture)
		}
		c := cf.Config
		if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/m365export" || len(c.Cmd) != 0 {
			t.Errorf("%s entrypoint %q cmd %q, want [/m365export] and no cmd", want, c.Entrypoint, c.Cmd)
		}
		if c.User != "65532:65532" {
			t.Errorf("%s user = %q, want 65532:65532 (non-root)", want, c.User)
		}
		l := c.Labels
		if l[LabelSource] != "https://example.com/m365export" || l[LabelVersion] != version || l[LabelRevision] == "" {
			t.Errorf("%s labels = %v", want, l)
		}
		if revision == "" {
			revision = l[LabelRevision]
		} else if l[LabelRevision] != revision {
			t.Errorf("%s revision label %q, other platform %q", want, l[LabelRevision], revision)
		}
		files := layerFiles(t, img)
		if len(files) != 1 || files["m365export"] == nil || files["m365export"].Mode&0o111 != 0o111 || files["m365export"].Uid != 0 {
			t.Errorf("%s layer files = %v, want only the root-owned executable m365export (no shell)", want, keys(files))
		}
		if want.Arch == "amd64" {
			amd64 = img
		}
	}
	if amd64 == nil || runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("cannot run the linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := filepath.Join(dir, "m365export")
	extract(t, amd64, "m365export", bin)

	got, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("m365export --version: %v\n%s", err, got)
	}
	line := strings.TrimSpace(string(got))
	if !strings.HasPrefix(line, "m365export "+version+", revision "+revision) || !strings.Contains(line, runtime.Version()) {
		t.Errorf("--version = %q, want version %s, revision %s and %s", line, version, revision, runtime.Version())
	}

	work := t.TempDir()
	for _, d := range []string{"out", "state"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), bin, "--demo", "--demo-users", "4", "--connector", "entra-id,outlook-mail",
		"--dest", "file://"+filepath.Join(work, "out"), "--state", "file://"+filepath.Join(work, "state"),
		"--log-format", "json", "--log-level", "warn")
	cmd.Dir = work
	if got, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("m365export --demo: %v\n%s", err, got)
	}
	for _, table := range []string{"entra-id/users", "outlook-mail/messages"} {
		m, _ := filepath.Glob(filepath.Join(work, "out", table, "dt=*", "*.parquet"))
		if len(m) == 0 {
			t.Errorf("the image's --demo export wrote no %s Parquet", table)
		}
	}
}

// layerFiles lists the regular files of img's layers by path.
func layerFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, "/")] = h
		}
		_ = rc.Close()
	}
	return files
}

// extract copies the file name of img's layers to path.
func extract(t *testing.T, img v1.Image, name, path string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimPrefix(h.Name, "/") != name {
				continue
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			_ = rc.Close()
			return
		}
		_ = rc.Close()
	}
	t.Fatalf("no %s in the image", name)
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
