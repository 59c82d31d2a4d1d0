// Package testenv holds what the examples' tests share: the rule for
// tests that need root, namespaces or Docker, and the initd binary under
// test.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/initd/initd/examples/internal/demo"
)

// Strict reports whether a test that cannot run must fail instead of
// skipping. CI sets INITD_STRICT_TESTS=1 and runs as root, so there a
// missing engine is a broken CI, not a reason to skip.
func Strict() bool { return os.Getenv("INITD_STRICT_TESTS") == "1" }

// ShellFormExit is the status initd reports for the shell form
// (sh -c ./trap.sh) stopped with SIGTERM: sh dies of the signal (143),
// but initd reports the status of the one command the shell was waiting
// for, trap.sh, which exits 0 after its cleanup (initd.1, EXIT STATUS;
// --report-shell would report sh's 143 instead).
const ShellFormExit = 0

// SkipOrFail skips the test with the reason, or fails it when Strict.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("%s (INITD_STRICT_TESTS=1: not skipping)", msg)
	}
	t.Skipf("skipped: %s (set INITD_STRICT_TESTS=1 to make this a failure)", msg)
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Initd returns the initd binary to test: $INITD_BIN if set (the Makefile
// exports it to every recipe), otherwise the bin/initd that "make build"
// makes in this checkout, built once per test binary.
func Initd(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("INITD_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			// go test runs each test binary in its package's directory.
			t.Fatalf("INITD_BIN=%s: %v (a relative path is taken from the test package's directory; use an absolute one)", p, err)
		}
		return abs
	}
	buildOnce.Do(func() {
		var repo string
		if repo, buildErr = demo.FindRepo("."); buildErr != nil {
			return
		}
		built, buildErr = demo.BuildInitd(repo)
	})
	if buildErr != nil {
		t.Fatalf("no initd to test: %v", buildErr)
	}
	return built
}

// Writer sends progress lines to the test log.
type Writer struct{ T testing.TB }

func (w Writer) Write(p []byte) (int, error) {
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
