package main

// Shutdown and leftovers (README "What happens when"): a stop signal
// reaches the whole group and initd waits for the traps; when the main
// child is gone the others get SIGTERM once and --grace to finish, then
// SIGKILL; initd never signals outside its own tree; and what initd's own
// SIGKILL leaves behind.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// subreaper becomes a child subreaper, starts the rest of its
	// arguments, prints "subreaper started PID", and then reports every
	// process it reaps as "subreaper reaped PID STATUS". It stands for the
	// container runtime or shell above a non-PID-1 initd.
	registerHelper("subreaper", func(args []string) {
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		p, err := os.StartProcess(args[0], args, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
		if err != nil {
			fmt.Println("subreaper cannot start:", err)
			os.Exit(1)
		}
		fmt.Println("subreaper started", p.Pid)
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			code := ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			fmt.Println("subreaper reaped", pid, code)
		}
	})
}

// readyFlag returns shell commands that make a file and wait for it, so
// that a script's main child exits only once a leftover has set its trap.
func readyFlag(t *testing.T, name string) (set, await string) {
	f := filepath.Join(t.TempDir(), name)
	return ": > " + f, "while [ ! -e " + f + " ]; do sleep 0.01; done"
}

// The shell form: sh -c does not forward SIGTERM, but initd signals the
// whole group and waits for the trap to finish its cleanup.
func TestShellFormTrap(t *testing.T) {
	script := filepath.Join(t.TempDir(), "trap.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
trap 'echo "Trapped: TERM"; sleep 1; echo "cleanup done"; exit 0' TERM
echo "started $$"
while :; do sleep 1 & wait $!; done
`), 0o755)
	p := start(t, pid1, "--", "/bin/sh", "-c", script)
	p.expect("started")
	begin := time.Now()
	p.signal(syscall.SIGTERM)
	p.expect("Trapped: TERM")
	got := p.wait(8 * time.Second)
	if !contains(p.Out(), "cleanup done") {
		t.Errorf("trap cleanup was cut off: %q", p.Out())
	}
	// sh dies of the SIGTERM it does not trap; the status is trap.sh's,
	// the command sh was waiting for.
	if got != 0 {
		t.Errorf("status %d, want 0 (trap.sh's own)", got)
	}
	t.Logf("stopped in %v", time.Since(begin))
}

// A trap never runs twice because of initd: the SIGTERM that reached the
// group is not followed by initd's own when sh exits first.
func TestTrapRunsOnce(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `
(trap 'echo "trap ran"; sleep 0.3; exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done) &
wait`)
	p.expect("ready")
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
	n := 0
	for _, l := range p.Out() {
		if l == "trap ran" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("trap ran %d times, want 1", n)
	}
}

func TestKillAfter(t *testing.T) {
	p := start(t, pid1, "--kill-after", "1s", "--", "/bin/sh", "-c", `trap 'echo ignoring' TERM; echo ready; while :; do sleep 0.1; done`)
	p.expect("ready")
	p.signal(syscall.SIGTERM)
	p.expect("ignoring")
	if got := p.wait(10 * time.Second); got != 137 {
		t.Errorf("status %d, want 137 (SIGKILL)", got)
	}
}

// Leftovers that exit on SIGTERM finish their cleanup, and initd exits
// right after them with the main child's status.
func TestLeftoversFinishCleanup(t *testing.T) {
	set, await := readyFlag(t, "leftover")
	p := start(t, pid1, "--", "/bin/sh", "-c", `
(trap 'echo "leftover cleaning"; sleep 0.5; echo "leftover done"; exit 0' TERM; echo leftover ready; `+set+`; while :; do sleep 1 & wait $!; done) &
`+await+`; exit 7`)
	p.expect("leftover ready")
	begin := time.Now()
	got := p.wait(10 * time.Second)
	if got != 7 {
		t.Errorf("status %d, want the main child's 7", got)
	}
	if !contains(p.Out(), "leftover done") {
		t.Errorf("leftover cleanup cut off: %q", p.Out())
	}
	// Well below the 5 s default grace: initd left as soon as the
	// leftover was gone, not at the end of the grace period.
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("initd took %v, as if it waited for the whole grace period", d)
	}
}

// A leftover that ignores SIGTERM is SIGKILLed when --grace is over.
func TestLeftoverKilledAtGrace(t *testing.T) {
	set, await := readyFlag(t, "stubborn")
	p := start(t, pid1, "--grace", "2s", "--", "/bin/sh", "-c", `
trap '' TERM; (`+set+`; while :; do echo tick; sleep 0.1; done) &
`+await+`; echo main gone; exit 5`)
	p.expect("main gone")
	if got := p.wait(10 * time.Second); got != 5 {
		t.Errorf("status %d, want 5", got)
	}
	// The leftover lived on for the grace period (about 20 ticks), and the
	// SIGKILL at its end is what let initd exit within the limit above.
	after := 0
	for _, l := range p.Out()[slices.Index(p.Out(), "main gone")+1:] {
		if l == "tick" {
			after++
		}
	}
	if after < 3 {
		t.Errorf("the leftover ticked %d times after the main child exited: no grace period", after)
	}
}

// --grace 0 exits at once, like tini; the kernel then kills the namespace.
// (With the default 5 s grace initd would still be waiting at the limit.)
func TestGraceZero(t *testing.T) {
	p := start(t, pid1, "--grace", "0", "--", "/bin/sh", "-c", `(trap '' TERM; sleep 30) & echo bg; exit 4`)
	p.expect("bg")
	if got := p.wait(3 * time.Second); got != 4 {
		t.Errorf("status %d, want 4", got)
	}
}

// A daemon that escapes the child's process group and session with
// setsid(), as PID 1: it still gets SIGTERM when the main child exits
// and the grace period to finish its cleanup; initd then exits with the
// main child's status. One that ignores SIGTERM is SIGKILLed at the end
// of --grace.
func TestSetsidDaemonPID1(t *testing.T) {
	set, await := readyFlag(t, "daemon")
	daemon := `setsid /bin/sh -c 'trap "echo daemon got TERM; sleep 0.3; echo daemon done; exit 0" TERM; echo daemon ready; ` + set + `; while :; do sleep 0.05; done' &`
	p := start(t, pid1, "--", "/bin/sh", "-c", daemon+await+`; exit 3`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	if !contains(p.Out(), "daemon got TERM") || !contains(p.Out(), "daemon done") {
		t.Errorf("the setsid daemon did not get SIGTERM and its grace: %q", p.Out())
	}
	// initd's SIGTERM from outside reaches the child's group only; the
	// daemon gets its SIGTERM when the child is gone.
	set, await = readyFlag(t, "daemon")
	daemon = `setsid /bin/sh -c 'trap "echo daemon got TERM; sleep 0.3; echo daemon done; exit 0" TERM; echo daemon ready; ` + set + `; while :; do sleep 0.05; done' &`
	p = start(t, pid1, "--", "/bin/sh", "-c", daemon+` trap 'exit 5' TERM; `+await+`; echo main ready; while :; do sleep 0.05; done`)
	p.expect("main ready")
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 5 {
		t.Errorf("status %d, want 5", got)
	}
	if !contains(p.Out(), "daemon done") {
		t.Errorf("the setsid daemon did not finish its cleanup: %q", p.Out())
	}
	set, await = readyFlag(t, "daemon")
	p = start(t, pid1, "--grace", "300ms", "--", "/bin/sh", "-c", `setsid /bin/sh -c 'trap "" TERM; echo daemon ready; `+set+`; sleep 60; echo survived' & `+await+`; exit 4`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 4 {
		t.Errorf("status %d, want 4", got)
	}
	if contains(p.Out(), "survived") {
		t.Error("the daemon ignoring SIGTERM survived the grace period")
	}
}

// Not PID 1: the setsid daemon is re-parented to initd (the subreaper),
// gets SIGTERM as a leftover, and is reaped: nothing is left behind.
func TestSetsidDaemonSubreaper(t *testing.T) {
	set, await := readyFlag(t, "daemon")
	p := start(t, runOpt{}, "--", "/bin/sh", "-c", `setsid /bin/sh -c 'trap "read -r _ _ _ ppid _ < /proc/\$\$/stat; echo daemon got TERM, parent \$ppid; exit 0" TERM; echo daemon ready $$; `+set+`; while :; do sleep 0.05; done' & `+await+`; exit 3`)
	daemon := fieldInt(t, p.expect("daemon ready"), 2)
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	// It had been re-parented to initd when it got initd's SIGTERM.
	if want := fmt.Sprintf("daemon got TERM, parent %d", p.Pid()); !contains(p.Out(), want) {
		t.Errorf("no %q: %q", want, p.Out())
	}
	if _, ok := stat(daemon); ok {
		t.Errorf("daemon %d still exists after initd exited", daemon)
	}
}

// Not PID 1, a daemon whose parent (in the child's group) is still alive
// when the main child exits is re-parented to initd only after initd's
// SIGTERM sweep of the leftovers (the parent takes 0.2 s over its own
// SIGTERM, so the order is certain). It should still get SIGTERM and the
// grace period, not just the SIGKILL at its end.
func TestLateOrphanGetsTERM(t *testing.T) {
	setD, awaitD := readyFlag(t, "daemon")
	setP, awaitP := readyFlag(t, "parent")
	p := start(t, runOpt{}, "--grace", "3s", "--", "/bin/sh", "-c", `
( setsid /bin/sh -c 'trap "echo daemon got TERM; exit 0" TERM; echo daemon ready; `+setD+`; while :; do sleep 0.05; done' &
  trap 'sleep 0.2; exit 0' TERM; `+setP+`; while :; do sleep 0.05; done ) &
`+awaitD+`; `+awaitP+`; exit 3`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	if !contains(p.Out(), "daemon got TERM") {
		t.Errorf("a leftover re-parented to initd after the SIGTERM sweep got no SIGTERM: %q", p.Out())
	}
}

// Not PID 1, initd signals only its own tree: a decoy in initd's own
// process group and session, outside initd's tree, survives every
// shutdown path and receives no signal at all.
func TestNeverSignalsOutsideTree(t *testing.T) {
	var decoyOut bytes.Buffer
	var mu sync.Mutex
	decoyLines := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Split(decoyOut.String(), "\n")
	}
	argv := helper("record", "decoy", "SYS")
	decoy := exec.Command(argv[0], argv[1:]...)
	// The decoy is a Go program that records every signal: switch its
	// own preemption off, or it would record its runtime's SIGURGs.
	decoy.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	decoy.Stdout = &syncWriter{w: &decoyOut, mu: &mu}
	decoy.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { decoy.Process.Kill(); decoy.Wait() }()
	if !waitFor(func() bool {
		for _, l := range decoyLines() {
			if isEvent(l, "decoy", "ready", nil) {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the decoy never got ready")
	}
	group := runOpt{setup: func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: decoy.Process.Pid}
	}}
	const sleeper = "echo ready; exec sleep 30"
	for _, tt := range []struct {
		name string
		args []string
		sig  syscall.Signal // sent to initd once the child printed "ready", if any
	}{
		{"child exits, nothing left", []string{"--", "/bin/sh", "-c", "exit 3"}, 0},
		{"usage error", []string{"--bogus"}, 0},
		{"exec failure", []string{"--", "/no/such"}, 0},
		{"forwarded TERM", []string{"--", "/bin/sh", "-c", sleeper}, syscall.SIGTERM},
		{"forwarded INT", []string{"--", "/bin/sh", "-c", sleeper}, syscall.SIGINT},
		{"forwarded HUP, rewritten", []string{"-r", "HUP:TERM", "--", "/bin/sh", "-c", sleeper}, syscall.SIGHUP},
		{"forwarded QUIT", []string{"--", "/bin/sh", "-c", sleeper}, syscall.SIGQUIT},
		{"remap", []string{"-e", "143", "--", "/bin/sh", "-c", sleeper}, syscall.SIGTERM},
		{"leftover in the group, TERM", []string{"-t", "300ms", "--", "/bin/sh", "-c", "sleep 30 & exit 0"}, 0},
		{"leftovers, grace over", []string{"-t", "200ms", "--", "/bin/sh", "-c", "trap '' TERM; sleep 30 & exit 0"}, 0},
		{"leftovers, TERM during grace", []string{"-t", "300ms", "--", "/bin/sh", "-c", "trap '' TERM; sleep 30 & echo ready; exit 0"}, syscall.SIGTERM},
		{"grace 0", []string{"-t", "0", "--", "/bin/sh", "-c", "sleep 1 >/dev/null 2>&1 & exit 0"}, 0},
		{"single child, leftovers", []string{"-c", "-t", "200ms", "--", "/bin/sh", "-c", "sleep 30 & echo ready; sleep 30"}, syscall.SIGTERM},
		{"kill-after", []string{"-k", "100ms", "--", "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30"}, syscall.SIGTERM},
		{"single child, kill-after, setsid daemon", []string{"-c", "-k", "100ms", "-t", "300ms", "--", "/bin/sh", "-c", "trap '' TERM; setsid sleep 30 & echo ready; sleep 30"}, syscall.SIGTERM},
		{"orphan adopted, killed at grace", []string{"-t", "200ms", "--", "/bin/sh", "-c", "trap '' TERM; (setsid sleep 30 &); exit 0"}, 0},
		{"pause, TERM", []string{"--pause"}, syscall.SIGTERM},
		{"pause, INT", []string{"--pause"}, syscall.SIGINT},
	} {
		t.Logf("path: %s", tt.name)
		p := start(t, group, tt.args...)
		switch {
		case tt.sig != 0 && tt.args[0] == "--pause":
			// Nothing shows when initd has subscribed to signals in
			// pause mode: give it the time it takes.
			time.Sleep(150 * time.Millisecond)
			syscall.Kill(p.Pid(), tt.sig)
		case tt.sig != 0:
			p.expect("ready")
			syscall.Kill(p.Pid(), tt.sig) // initd may be gone already
		}
		p.wait(20 * time.Second)
		if st, ok := stat(decoy.Process.Pid); !ok || st.state == 'Z' {
			t.Fatalf("%s: the decoy is gone", tt.name)
		}
		for _, l := range decoyLines() {
			if isEvent(l, "decoy", "got", nil) {
				t.Fatalf("%s: the decoy was signalled: %q", tt.name, l)
			}
		}
	}
}

// initd SIGKILLed from outside while not PID 1: nothing can run in initd,
// so the child is not signalled; it keeps running and is re-parented to
// the nearest subreaper (here the test's helper, in a container the
// runtime's shim or the host's init). The opt-in protection is a second
// initd with -p: "initd -- initd -p TERM -- app" makes the kernel send the
// inner initd SIGTERM when the outer one dies, and it forwards it.
func TestSIGKILLNotPID1(t *testing.T) {
	underSubreaper := func(argv ...string) func(*exec.Cmd) {
		return func(c *exec.Cmd) {
			c.Args = helper("subreaper", argv...)
			c.Path = c.Args[0]
		}
	}
	// The child records every signal: with its own preemption off it
	// records no SIGURG of its runtime's.
	quiet := []string{"GODEBUG=asyncpreemptoff=1"}
	p := start(t, runOpt{env: quiet, setup: underSubreaper(append([]string{initdBin, "--"}, helper("record", "child", "TERM")...)...)})
	initd := p.expectEvent("subreaper", "started")[2]
	child := atoi(t, p.expectEvent("child", "ready")[2])
	syscall.Kill(atoi(t, initd), syscall.SIGKILL)
	p.expectEvent("subreaper", "reaped", initd, "137")
	if !waitFor(func() bool { st, _ := stat(child); return st.ppid == p.Pid() }) {
		t.Fatalf("the child was not re-parented to the subreaper above initd")
	}
	// The test is that nothing happens to the child: give a wrong
	// signal time to show.
	time.Sleep(200 * time.Millisecond)
	if st, ok := stat(child); !ok || st.state == 'Z' || p.hasEvent("child", "got") {
		t.Fatalf("the child did not keep running untouched: %v %q", ok, p.Out())
	}
	syscall.Kill(child, syscall.SIGTERM)
	p.expectEvent("subreaper", "reaped", strconv.Itoa(child), "0")

	// Opt-in: an inner initd with -p TERM turns the outer one's death
	// into a SIGTERM for the app.
	p = start(t, runOpt{setup: underSubreaper(append([]string{initdBin, "--", initdBin, "-p", "TERM", "--"}, helper("record", "child", "TERM")...)...)})
	initd = p.expectEvent("subreaper", "started")[2]
	p.expectEvent("child", "ready")
	syscall.Kill(atoi(t, initd), syscall.SIGKILL)
	p.sawEvent("child", "got", "SIGTERM")
	p.sawEvent("subreaper", "reaped", initd, "137")
	// The inner initd exits with the app's status and is reaped too.
	if !waitFor(func() bool {
		for _, l := range p.Out() {
			if f := strings.Fields(l); isEvent(l, "subreaper", "reaped", nil) && len(f) == 4 && f[2] != initd && f[3] == "0" {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the inner initd did not exit 0: %q", p.Out())
	}
}

// initd SIGKILLed as PID 1: the kernel tears the PID namespace down, so
// nothing it started survives.
func TestSIGKILLPID1(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `(trap "" TERM; sleep 60) & trap "" TERM; echo ready; sleep 60`)
	p.expect("ready")
	var kids []int
	waitFor(func() bool { kids = descendants(p.Pid()); return len(kids) >= 3 })
	p.signal(syscall.SIGKILL)
	p.wait(20 * time.Second)
	if !waitFor(func() bool {
		for _, k := range kids {
			if _, ok := stat(k); ok {
				return false
			}
		}
		return true
	}) {
		t.Errorf("processes of the namespace survived initd's SIGKILL: %v", kids)
	}
}
