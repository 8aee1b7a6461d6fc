package m365export_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// The checks in this file cover the whole main module (every package under
// ./..., not just the root) and, for the git check, every tracked file.
// The nested modules bench/sdkbaseline and tools have their own go.mod and
// are not part of ./...; `make lint` covers the main module only as well.

// TestImportDirection enforces the layering of STYLE.md §1:
// cmd → jobs → pipeline → {sources, sinks, rules}, and sources, sinks and
// rules never import each other, pipeline or jobs. The packages under
// internal/ (the JSON scanner) are leaves that every layer may use: they
// import nothing of the module.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(pkg string) string {
		p := strings.TrimPrefix(pkg, "m365export/")
		if p == pkg && pkg != "m365export" {
			return "" // not ours
		}
		return strings.SplitN(p, "/", 2)[0]
	}
	forbidden := map[string][]string{
		"sources":  {"sinks", "rules", "pipeline", "jobs", "cmd"},
		"sinks":    {"sources", "rules", "pipeline", "jobs", "cmd"},
		"rules":    {"sources", "sinks", "pipeline", "jobs", "cmd"},
		"pipeline": {"jobs", "cmd"},
		"jobs":     {"cmd"},
		"internal": {"sources", "sinks", "rules", "pipeline", "jobs", "cmd", "bench"},
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("go list ./... listed %d packages; want the root and its subpackages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		from := layer(f[0])
		for _, imp := range f[1:] {
			to := layer(imp)
			if to == "" || strings.HasSuffix(f[0], "_test") {
				continue
			}
			for _, bad := range forbidden[from] {
				if to == bad {
					t.Errorf("%s imports %s: %s must not import %s", f[0], imp, from, bad)
				}
			}
		}
	}
}

// TestImportDirection_Emulator keeps the Graph emulator out of production:
// only the commands that serve it (cmd/..., for the graphsim command and
// --demo) and benchmarks (bench/...) may depend on sources/graphsim, and
// its ground-truth oracle, sources/graphsim/simtruth, is test support that
// only benchmarks and tests may use. It checks dependencies, not only
// direct imports, so no package reaches the emulator through another.
func TestImportDirection_Emulator(t *testing.T) {
	const sim, truth = "m365export/sources/graphsim", "m365export/sources/graphsim/simtruth"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	under := func(pkg, dir string) bool { return strings.HasPrefix(pkg, "m365export/"+dir+"/") }
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		if pkg == sim || pkg == truth || under(pkg, "bench") {
			continue
		}
		for _, dep := range f[1:] {
			switch {
			case dep == truth:
				t.Errorf("%s depends on %s: the emulator's oracle is for tests and benchmarks only", pkg, dep)
			case dep == sim && !under(pkg, "cmd"):
				t.Errorf("%s depends on %s: only cmd/... and bench/... may use the emulator", pkg, dep)
			}
		}
	}
}

// TestVet runs go vet over every package of the module (./..., tests included).
func TestVet(t *testing.T) {
	if out, err := exec.Command("go", "vet", "./...").CombinedOutput(); err != nil {
		t.Fatalf("go vet ./...: %v\n%s", err, out)
	}
}

// TestModTidy fails when go.mod or go.sum differ from what `go mod tidy`
// would write (it considers the imports of every package and test of the
// module). Fix: run `go mod tidy` and commit the result.
func TestModTidy(t *testing.T) {
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && stdout.Len() > 0:
		t.Errorf("go.mod/go.sum are not tidy; run `go mod tidy` and commit:\n%s", stdout.Bytes())
	default:
		t.Fatalf("go mod tidy -diff: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
}

// maxTrackedSize is the largest file the repository may track.
const maxTrackedSize = 1 << 20 // 1 MiB

// TestTrackedFiles fails when git tracks a build output or a large blob:
// an executable binary (ELF, Mach-O or PE magic, or the executable bit on
// non-text content) or any file larger than 1 MiB. It skips outside a git
// checkout, except in CI (CI=true), where a missing checkout is a failure.
func TestTrackedFiles(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-s", "-z").Output()
	if err != nil {
		msg := fmt.Sprintf("not a git checkout (git ls-files: %v)", err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI must run the tests in a git checkout", msg)
		}
		t.Skip(msg)
	}
	var offenders []string
	n := 0
	for _, entry := range bytes.Split(out, []byte{0}) {
		// "<mode> <object> <stage>\t<path>"
		meta, path, ok := strings.Cut(string(entry), "\t")
		if !ok {
			continue
		}
		n++
		mode := strings.Fields(meta)[0]
		if mode == "120000" || mode == "160000" { // symlink, submodule
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue // deleted in the worktree, not yet committed
		}
		if fi.Size() > maxTrackedSize {
			offenders = append(offenders, fmt.Sprintf("%s: %d bytes (limit %d)", path, fi.Size(), maxTrackedSize))
		}
		head, err := readHead(path, 8<<10)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if kind := executableFormat(head); kind != "" {
			offenders = append(offenders, fmt.Sprintf("%s: %s executable", path, kind))
		} else if mode == "100755" && !isText(head) {
			offenders = append(offenders, fmt.Sprintf("%s: executable bit on non-text content", path))
		}
	}
	if n == 0 {
		t.Fatal("git ls-files listed no files")
	}
	if len(offenders) > 0 {
		t.Errorf("%d tracked file(s) must not be committed (binaries and files over 1 MiB belong in .gitignore; git rm --cached them):\n  %s",
			len(offenders), strings.Join(offenders, "\n  "))
	}
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return buf[:k], nil
}

// executableFormat names the executable format whose magic head starts
// with, or returns "".
func executableFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF"
	case len(head) >= 4 && isMachO(binary.BigEndian.Uint32(head)):
		return "Mach-O"
	case len(head) >= 0x40 && bytes.HasPrefix(head, []byte("MZ")):
		// DOS stub; a PE file has "PE\0\0" at the offset stored at 0x3c.
		off := int(binary.LittleEndian.Uint32(head[0x3c:]))
		if off >= 0 && off+4 <= len(head) && bytes.Equal(head[off:off+4], []byte("PE\x00\x00")) {
			return "PE"
		}
	}
	return ""
}

func isMachO(magic uint32) bool {
	switch magic {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, // 32/64-bit, either byte order
		0xcafebabe, 0xbebafeca: // universal (fat) binary
		return true
	}
	return false
}

// isText reports whether head looks like text: no NUL byte and valid UTF-8
// (a multi-byte rune cut at the end of head is allowed).
func isText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}

// TestExecutableFormat checks the detector on this test binary (whatever the
// OS builds) and on text.
func TestExecutableFormat(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	head, err := readHead(exe, 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	if executableFormat(head) == "" || isText(head) {
		t.Errorf("%s: executableFormat=%q isText=%v; want a format and non-text", exe, executableFormat(head), isText(head))
	}
	for _, s := range []string{"#!/usr/bin/env bash\necho hi\n", "MZ but not a DOS stub, just text that goes on for more than sixty-four bytes\n", "héllo"} {
		if f := executableFormat([]byte(s)); f != "" || !isText([]byte(s)) {
			t.Errorf("%q: executableFormat=%q isText=%v; want text", s, f, isText([]byte(s)))
		}
	}
}
