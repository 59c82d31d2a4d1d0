package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/initd/initd/bench/floor/internal/subscribe"
	"github.com/initd/initd/bench/internal/harness"
	"github.com/initd/initd/internal/forward"
)

func TestMain(m *testing.M) {
	harness.RunHelper()
	os.Exit(m.Run())
}

// The floor is only a floor for initd if it receives what initd receives.
func TestSameSignalsAsInitd(t *testing.T) {
	floor := map[syscall.Signal]bool{}
	for _, s := range subscribe.Forwarded() {
		floor[s.(syscall.Signal)] = true
	}
	for n := syscall.Signal(1); n < forward.NSig; n++ {
		var initd bool
		switch forward.ClassOf(n) {
		case forward.Forwarded, forward.Dropped, forward.Preempt:
			initd = true
		}
		if floor[n] != initd {
			t.Errorf("%s: initd subscribes %v, the floor %v", forward.Name(n), initd, floor[n])
		}
	}
}

func binaries(t *testing.T) (floor, early string) {
	t.Helper()
	floor, early, err := harness.FloorBinaries()
	if err != nil {
		t.Fatal(err)
	}
	return floor, early
}

// The early build must subscribe right after os/signal is initialised,
// before any other package's init: that is its whole point.
func TestEarlySubscribesFirst(t *testing.T) {
	_, early := binaries(t)
	cmd := exec.Command(early, "--", "/bin/true")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var inits []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "init" {
			inits = append(inits, f[1])
		}
	}
	want := "github.com/initd/initd/bench/floor/internal/subscribe"
	for i, p := range inits {
		if p == "os/signal" {
			if i+1 >= len(inits) || inits[i+1] != want {
				t.Fatalf("after os/signal: %v, want %s first", inits[i+1:], want)
			}
			return
		}
	}
	t.Fatalf("no init of os/signal in %v", inits)
}

// As PID 1 the floor passes exit codes on, forwards a stop signal to the
// child's group and reports the signal the child died of.
func TestFloorAsPID1(t *testing.T) {
	if err := harness.Namespaces(); err != nil {
		if os.Getenv("INITD_STRICT_TESTS") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	floor, early := binaries(t)
	for _, bin := range []string{floor, early} {
		run := func(child ...string) *harness.Proc {
			p, err := harness.Start(harness.FloorInit(bin).Argv(child...), harness.Options{Mode: harness.PID1})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if code := run("/bin/sh", "-c", "exit 42").Wait(); code != 42 {
			t.Errorf("%s: child exit 42: floor exited %d", bin, code)
		}
		// The shell's trap waits for sleep, which dies of the signal only
		// if the whole group gets it: otherwise the wait takes 30 s.
		p := run("/bin/sh", "-c", `/bin/sleep 30 & p=$!; trap 'wait $p; exit $?' TERM; wait $p`)
		if !harness.Poll(5*time.Second, time.Millisecond, func() bool { return harness.ChildExeced(p.Pid, "sh") }) {
			p.Kill()
			t.Fatalf("%s: child did not start", bin)
		}
		time.Sleep(100 * time.Millisecond)
		p.Signal(syscall.SIGTERM)
		code, ok := p.WaitTimeout(10 * time.Second)
		if !ok {
			p.Kill()
			t.Fatalf("%s: SIGTERM did not stop the group", bin)
		}
		if code != 143 {
			t.Errorf("%s: SIGTERM: floor exited %d, want 143 (sleep's status, passed on by sh)", bin, code)
		}
	}
}
