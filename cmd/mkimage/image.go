package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed parts.
const (
	// BinaryPath is where the image holds the binary; it is the entrypoint.
	BinaryPath = "/m365export"
	// User is the numeric user and group the image runs as (distroless'
	// "nonroot"); no /etc/passwd is needed for a numeric user.
	User = "65532:65532"

	LabelSource   = "org.opencontainers.image.source"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"

	versionVar = "m365export/jobs.Version"
	refName    = "org.opencontainers.image.ref.name"
)

// Platform is an os/arch pair to build for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Options configure Build.
type Options struct {
	Out       string     // OCI layout directory, replaced
	Tar       string     // optional tar of the layout
	Platforms []Platform // at least one
	Version   string     // jobs.Version and the version label ("" keeps the source's default)
	Source    string     // source label
	Package   string     // main package, e.g. ./cmd/export
	Dir       string     // directory the go command runs in ("" = current)
	Log       io.Writer  // progress (nil: none)
}

// Build compiles the binary for each platform, assembles the image index
// and writes it to o.Out (and o.Tar). It returns the index digest.
func Build(ctx context.Context, o Options) (v1.Hash, error) {
	if len(o.Platforms) == 0 {
		return v1.Hash{}, fmt.Errorf("no platforms")
	}
	if o.Out == "" {
		return v1.Hash{}, fmt.Errorf("no output directory")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	work, err := os.MkdirTemp("", "mkimage-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer func() { _ = os.RemoveAll(work) }()

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		bin := filepath.Join(work, p.OS+"-"+p.Arch, "m365export")
		fmt.Fprintf(o.Log, "building %s for %s\n", o.Package, p)
		if err := goBuild(ctx, o, p, bin); err != nil {
			return v1.Hash{}, err
		}
		img, err := image(bin, p, o)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	digest, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("index digest: %w", err)
	}

	// Write beside the destination, then rename: no half-written layout.
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return v1.Hash{}, fmt.Errorf("output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".mkimage-")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("output directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		return v1.Hash{}, err
	}
	// The layout's index.json names one thing, the image index (tagged
	// with the version), as `crane push` and `skopeo copy oci:` expect.
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("write OCI layout: %w", err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{refName: o.Version})); err != nil {
		return v1.Hash{}, fmt.Errorf("write OCI layout: %w", err)
	}
	if o.Tar != "" {
		if err := tarDir(tmp, o.Tar); err != nil {
			return v1.Hash{}, fmt.Errorf("write %s: %w", o.Tar, err)
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return v1.Hash{}, fmt.Errorf("replace %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return v1.Hash{}, fmt.Errorf("rename the layout into %s: %w", out, err)
	}
	return digest, nil
}

// goBuild builds a static, trimmed binary of o.Package for p. VCS
// stamping is on when the source is a checkout (so the binary's build
// information names the revision), whatever GOFLAGS says.
func goBuild(ctx context.Context, o Options, p Platform, bin string) error {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	ldflags := "-s -w"
	if o.Version != "" {
		ldflags += " -X " + versionVar + "=" + o.Version
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=auto", "-ldflags", ldflags, "-o", bin, o.Package)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", o.Package, p, err, stderr.Bytes())
	}
	return nil
}

// image is the one-layer image of bin for p.
func image(bin string, p Platform, o Options) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read the binary's build information: %w", err)
	}
	revision, created := "unknown", time.Unix(0, 0).UTC()
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				created = t.UTC()
			}
		}
	}
	if os.Getenv("SOURCE_DATE_EPOCH") != "" {
		var sec int64
		if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &sec); err == nil {
			created = time.Unix(sec, 0).UTC()
		}
	}
	layerTar, err := binaryLayer(data, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: created},
		CreatedBy: "mkimage: " + BinaryPath,
		Comment:   "static m365export binary",
	}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: created}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{
		LabelSource:   o.Source,
		LabelVersion:  o.Version,
		LabelRevision: revision,
		LabelCreated:  created.Format(time.RFC3339),
	}
	return mutate.ConfigFile(img, cf)
}

// binaryLayer is the tar of the image's file system: the binary, owned by
// root and executable by all, so the non-root user can run but not change
// it.
func binaryLayer(bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     BinaryPath[1:],
		Mode:     0o755,
		Size:     int64(len(bin)),
		ModTime:  mtime,
		Format:   tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tarDir writes the files under dir as a tar file at path (written to a
// temporary name, then renamed).
func tarDir(dir, path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".mkimage-*.tar")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { // CreateTemp made it 0600
		return err
	}
	return os.Rename(f.Name(), path)
}
