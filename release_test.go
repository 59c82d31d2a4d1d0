package initd

// Release checks: the binaries that scripts/release builds, their checksums,
// their reproducibility, and what --version and --license promise. The
// script does the per-binary checks (static, right machine, runs natively or
// under qemu-user; 386 only natively, since qemu-i386 user mode crashes
// multi-threaded Go 386 programs at random); these tests run it the way a
// release would and check its results independently.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var releaseArches = []string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"}

// releaseNeeds skips (or, under INITD_STRICT_TESTS=1, fails) a test when a
// tool the release scripts use is missing.
func releaseNeeds(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds initd for several architectures; skipped with -short")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			why := tool + " not found: " + err.Error()
			if os.Getenv("INITD_STRICT_TESTS") == "1" {
				t.Fatal(why + " (INITD_STRICT_TESTS=1)")
			}
			t.Skip(why)
		}
	}
}

func TestReleaseBuildsEveryArchitecture(t *testing.T) {
	releaseNeeds(t, "bash", "go", "sha256sum")
	dist := t.TempDir()
	// INITD_STRICT_TESTS passes through: in CI a missing readelf, file or
	// qemu-user-static fails the script instead of skipping its check.
	out, err := exec.Command("bash", "scripts/release", "-o", dist).CombinedOutput()
	t.Logf("scripts/release:\n%s", out)
	if err != nil {
		t.Fatalf("scripts/release: %v", err)
	}

	// One verdict line per binary. A binary that was not run must say so:
	// 386 when this kernel cannot run it itself (the script's reason is
	// qemu-i386's, see "Except 386" there), any other when no qemu is
	// installed (a skip, which INITD_STRICT_TESTS=1 turns into a failure).
	for _, a := range releaseArches {
		prefix := "release: " + a + ": "
		var verdict string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, prefix) && (strings.Contains(line, "ok") || strings.Contains(line, "FAILED")) {
				verdict = line
			}
		}
		switch {
		case verdict == "":
			t.Errorf("scripts/release printed no verdict for %s", a)
		case strings.Contains(verdict, "not run"):
			t.Logf("%s was built and checked statically, not run", a)
		}
	}

	sums, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	var names []string
	sc := bufio.NewScanner(sums)
	for sc.Scan() {
		// sha256sum's format: hex digest, two spaces (text mode), name.
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: malformed line %q", sc.Text())
		}
		names = append(names, name)
		if got := fileSHA256(t, filepath.Join(dist, name)); got != sum {
			t.Errorf("SHA256SUMS says %s is %s, it is %s", name, sum, got)
		}
	}
	var want []string
	for _, a := range releaseArches {
		want = append(want, "initd-linux-"+a)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("SHA256SUMS lists %q, want %q", names, want)
	}
	entries, _ := os.ReadDir(dist)
	if len(entries) != len(want)+1 {
		t.Errorf("dist has %d files, want the %d binaries and SHA256SUMS", len(entries), len(want))
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestReleaseIsReproducible builds amd64 and arm64 twice, from two
// directories with different timestamps and an empty build cache for the
// second, and requires identical bytes (see scripts/check-reproducible).
func TestReleaseIsReproducible(t *testing.T) {
	releaseNeeds(t, "bash", "go", "tar", "cmp", "sha256sum")
	out, err := exec.Command("bash", "scripts/check-reproducible", "amd64", "arm64").CombinedOutput()
	t.Logf("scripts/check-reproducible:\n%s", out)
	if err != nil {
		t.Fatalf("scripts/check-reproducible: %v", err)
	}
}

// parseInitVersion is dockerd's reading of "docker-init --version"
// (daemon/info_unix.go): the part after " - " must be "git.<commit>" with
// exactly one dot, or dockerd reports no commit.
func parseInitVersion(v string) (commit string) {
	parts := strings.Split(v, " - ")
	if len(parts) >= 2 {
		git := strings.Split(strings.TrimSpace(parts[1]), ".")
		if len(git) == 2 && git[0] == "git" {
			return git[1]
		}
	}
	return ""
}

func TestVersionLineShape(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	for _, c := range []string{"", "1f7b68e", "1f7b68e-dirty"} {
		commit = c
		line := VersionLine()
		if !strings.HasPrefix(line, "initd version "+version+" - git.") {
			t.Errorf("commit %q: %q does not have the shape \"initd version X - git.Y\"", c, line)
		}
		got := parseInitVersion(line)
		if got == "" || (c != "" && got != c) {
			t.Errorf("commit %q: dockerd would read commit %q from %q", c, got, line)
		}
	}
}

func TestLicenseIsEmbedded(t *testing.T) {
	want, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if License != string(want) {
		t.Error("the embedded License differs from LICENSE")
	}
	if !strings.HasPrefix(License, "MIT License") {
		t.Errorf("License starts %q, want the MIT license", License[:min(len(License), 40)])
	}
}

// Every release has its CHANGELOG entry, headed "## X - date".
func TestChangelogHasThisVersion(t *testing.T) {
	log, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "\n## "+version+" - ") {
		t.Errorf("CHANGELOG.md has no \"## %s - <date>\" entry", version)
	}
}
