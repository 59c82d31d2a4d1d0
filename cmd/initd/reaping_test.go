package main

// Reaping: every zombie that comes back to initd is reaped, as PID 1, as a
// subreaper and in pause mode, with the backlog bounded even in a storm.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadTests reports whether the load tests run at full size (100,000
// orphans, 1,000,000 signals); the default run (CI) scales them down.
func loadTests() bool { return os.Getenv("INITD_LOAD_TESTS") == "1" }

// sampleZombies samples the zombie children of pid from /proc every
// interval (0: back to back) until the returned function is called, which
// returns the peak count and the number of samples.
func sampleZombies(pid int, interval time.Duration) (stop func() (peak, samples int)) {
	done := make(chan struct{})
	result := make(chan [2]int)
	go func() {
		peak, samples := 0, 0
		for {
			select {
			case <-done:
				result <- [2]int{peak, samples}
				return
			default:
			}
			peak = max(peak, zombies(pid))
			samples++
			time.Sleep(interval)
		}
	}()
	return func() (int, int) { close(done); r := <-result; return r[0], r[1] }
}

// Orphans made as fast as a few shells can fork: every one is reaped, no
// zombie is left, and the number waiting to be reaped stays bounded. The
// peak is sampled from /proc while the storm runs.
func TestReapOrphans(t *testing.T) {
	total, shells := 5000, 2
	if loadTests() {
		total = 100000
	}
	per := total / shells
	script := `i=0; while [ $i -lt ` + strconv.Itoa(per) + ` ]; do ( true & ); i=$((i+1)); done`
	p := start(t, pid1, "-t", "1s", "--", "/bin/sh", "-c",
		`for s in $(seq `+strconv.Itoa(shells)+`); do sh -c '`+script+`' & done; wait; echo made; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done`)
	begin := time.Now()
	stopSampling := sampleZombies(p.Pid(), 5*time.Millisecond)
	deadline := 60 * time.Second
	if loadTests() {
		deadline = 10 * time.Minute
	}
	for !contains(p.Out(), "made") {
		if time.Since(begin) > deadline {
			t.Fatalf("%d orphans not made within %v", total, deadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	if !waitFor(func() bool { return zombies(p.Pid()) == 0 }) {
		t.Errorf("%d zombies left under initd", zombies(p.Pid()))
	}
	peak, samples := stopSampling()
	t.Logf("%d orphans in %v; peak unreaped seen %d (%d samples of /proc)", total, elapsed.Round(time.Millisecond), peak, samples)
	// Bounded: a reaper that fell behind would let thousands pile up.
	if bound := total / 10; peak > bound {
		t.Errorf("peak of %d unreaped zombies, over the bound of %d", peak, bound)
	}
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
}

// A main child and a grandchild exiting at the same instant, and children
// that exit before initd could have seen a SIGCHLD, never hang initd.
func TestReapRaces(t *testing.T) {
	for i := 0; i < 20; i++ {
		if got, _ := run(t, pid1, "--", "/bin/sh", "-c", "true & exit 3"); got != 3 {
			t.Fatalf("run %d: status %d, want 3", i, got)
		}
		if got, _ := run(t, runOpt{}, "--", "/bin/true"); got != 0 {
			t.Fatalf("run %d: status %d, want 0", i, got)
		}
	}
}

// Not PID 1: initd becomes a subreaper by itself, adopts and reaps
// orphans, and propagates the status.
func TestSubreaper(t *testing.T) {
	// The orphan ignores initd's SIGTERM to leftovers, and reads its
	// real parent from /proc ($PPID in a subshell is the shell's) until
	// the main child's exit has re-parented it.
	p := start(t, runOpt{}, "--", "/bin/sh", "-c", `trap '' TERM; (exec /bin/sh -c 'read -r _ _ _ ppid _ < /proc/self/stat; while [ "$ppid" = "$1" ]; do sleep 0.01; read -r _ _ _ ppid _ < /proc/self/stat; done; echo "orphan parent $ppid"' sh $$) & echo spawned; exit 6`)
	p.expect("spawned")
	line := p.expect("orphan parent")
	if want := "orphan parent " + strconv.Itoa(p.Pid()); line != want {
		t.Errorf("%q, want %q: the orphan was not re-parented to initd", line, want)
	}
	if got := p.wait(10 * time.Second); got != 6 {
		t.Errorf("status %d, want 6", got)
	}
}

func TestPause(t *testing.T) {
	requireNamespaces(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		p := start(t, pid1, "--pause")
		// Orphans made inside initd's namespace are re-parented to it.
		nsenter := exec.Command("nsenter", "-t", strconv.Itoa(p.Pid()), "-p", "--", "/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do ( true & ); i=$((i+1)); done")
		if out, err := nsenter.CombinedOutput(); err != nil {
			t.Fatalf("nsenter: %v %s", err, out)
		}
		// Every orphan is initd's child by now, so none left means that
		// initd reaped them all, and so that its loop, signals
		// included, is running.
		if !waitFor(func() bool { return len(descendants(p.Pid())) == 0 }) {
			t.Errorf("--pause left %d children, %d of them zombies", len(descendants(p.Pid())), zombies(p.Pid()))
		}
		p.signal(sig)
		if got := p.wait(10 * time.Second); got != 0 {
			t.Errorf("--pause on %v: status %d, want 0", sig, got)
		}
	}
}

// -w logs every zombie reaped besides the main child.
func TestWarnReap(t *testing.T) {
	_, p := run(t, pid1, append([]string{"-w", "--"}, orphanReaped(t, 0)...)...)
	if !strings.Contains(p.Stderr(), "reaped zombie pid") {
		t.Errorf("stderr %q lacks the reaped zombie", p.Stderr())
	}
}

// orphanReaped is a command for initd as PID 1 that makes one orphan and
// exits with status once initd has reaped it. The orphan exits only once
// it is initd's, so the subshell that made it cannot have reaped it; the
// main child stays until initd has: the orphan's /proc entry lasts as long
// as its zombie.
func orphanReaped(t *testing.T, status int) []string {
	f := filepath.Join(t.TempDir(), "orphan")
	orphan := `read -r _ _ _ ppid _ < /proc/self/stat; while [ "$ppid" != 1 ]; do sleep 0.01; read -r _ _ _ ppid _ < /proc/self/stat; done`
	return []string{"/bin/sh", "-c", `(/bin/sh -c '` + orphan + `' & echo $! > "$1"); while [ -e /proc/$(cat "$1") ]; do sleep 0.01; done; exit ` + strconv.Itoa(status), "sh", f}
}
