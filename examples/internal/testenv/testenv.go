// Package testenv holds what the examples' tests share: the rule for
// tests that need root, namespaces or Docker, the initd binary under
// test, and the private engine a test package sets up once.
package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// Engine is a private container engine the tests of a package share.
type Engine interface {
	EnsureBase(ctx context.Context, w io.Writer, kind, suite, cache string) error
	BuildImages(ctx context.Context, repo, initd string) error
	Stop() error
}

// Shared is the one private engine of a test package: set up on first
// use by Get, with debian:stable and the demo's images built, and stopped
// by Main when the tests are done.
type Shared[E Engine] struct {
	Name    string                                                  // for messages: "the private dockerd"
	Missing string                                                  // the skip reason's start: "no Docker engine can be started"
	TempDir string                                                  // the pattern of its directory: "initd-docker-"
	Usable  func() error                                            // why it cannot run here, or nil
	Start   func(ctx context.Context, dir, initd string) (E, error) // sets it up in dir, which is empty

	once    sync.Once
	engine  E
	started bool
	initd   string
	err     error
	skipWhy string
}

// Main runs the tests, then stops the engine if one was set up; a failure
// to clean up fails the run.
func (s *Shared[E]) Main(m *testing.M) {
	code := m.Run()
	if s.started {
		if err := s.engine.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "cleaning up %s: %v\n", s.Name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Get returns the engine and the initd binary its images were built
// with, setting the engine up on first use. It skips (or, when Strict,
// fails) the test when the engine cannot run here.
func (s *Shared[E]) Get(t *testing.T) (E, string) {
	t.Helper()
	if err := s.Usable(); err != nil {
		SkipOrFail(t, "%s: %v", s.Missing, err)
	}
	initd := Initd(t)
	s.once.Do(func() {
		s.initd = initd
		repo, err := demo.FindRepo(".")
		if err != nil {
			s.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", s.TempDir)
		if err != nil {
			s.err = err
			return
		}
		e, err := s.Start(ctx, dir, initd)
		if err != nil {
			os.RemoveAll(dir)
			s.skipWhy = err.Error()
			return
		}
		s.engine, s.started = e, true
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = dir
		}
		if err := e.EnsureBase(ctx, Writer{T: t}, demo.BaseAuto, "stable", filepath.Join(cache, "initd-demo")); err != nil {
			s.err = fmt.Errorf("making %s: %v", demo.BaseTag, err)
			return
		}
		s.err = e.BuildImages(ctx, repo, initd)
	})
	if s.skipWhy != "" {
		SkipOrFail(t, "%s: %s", s.Missing, s.skipWhy)
	}
	if s.err != nil {
		t.Fatalf("setting up %s: %v", s.Name, s.err)
	}
	return s.engine, s.initd
}

// CheckExecForm asserts what the exec form gives: trap.sh as PID 1,
// stopped in under beforeKill with its whole cleanup, and exit 0.
func CheckExecForm(t testing.TB, o demo.Outcome, beforeKill time.Duration) {
	t.Helper()
	if o.PID != 1 || o.Stop >= beforeKill || !o.Complete() || o.Exit != 0 {
		t.Errorf("%s: want trap.sh as PID 1, stopped in under %s with the complete trap output and exit 0; got PID %d, %s, exit %d, output:\n%s",
			o.Variant, beforeKill, o.PID, o.Stop, o.Exit, o.Output)
	}
}

// CheckKilled asserts what the shell form gives with no init: trap.sh
// not PID 1, killed with exit 137 and no trap output after the full
// timeout, less slack (where the engine's clock and the test's may
// differ by a little).
func CheckKilled(t testing.TB, o demo.Outcome, timeout, slack time.Duration) {
	t.Helper()
	if o.PID == 1 || o.Stop < timeout-slack || o.Exit != 137 || !o.StartOnly() {
		t.Errorf("%s: want trap.sh not PID 1, killed after the full %s (exit 137) with no trap output; got PID %d, %s, exit %d, output:\n%s",
			o.Variant, timeout, o.PID, o.Stop, o.Exit, o.Output)
	}
}

// CheckGraceful asserts what initd gives the shell form: trap.sh
// running (not PID 1), its whole cleanup for TERM within beforeKill, and
// trap.sh's own status reported for the shell (ShellFormExit).
func CheckGraceful(t testing.TB, o demo.Outcome, beforeKill time.Duration) {
	t.Helper()
	if o.Err != nil {
		t.Fatalf("%s: %v\noutput:\n%s", o.Variant, o.Err, o.Output)
	}
	if o.PID == 1 || o.PID == 0 || o.Stop >= beforeKill || !o.Complete() || o.Trapped() != "TERM" || o.Exit != ShellFormExit {
		t.Errorf("%s: want trap.sh not PID 1, stopped in under %s with the complete trap output (TERM) and exit %d (trap.sh's own status); got PID %d, %s, exit %d, output:\n%s",
			o.Variant, beforeKill, ShellFormExit, o.PID, o.Stop, o.Exit, o.Output)
	}
}

// WaitFor polls output until it contains want, and fails the test with
// what it shows if that takes longer than limit.
func WaitFor(t testing.TB, output func() string, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s; output so far:\n%s", want, limit, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
