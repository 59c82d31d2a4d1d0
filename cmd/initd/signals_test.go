package main

// Signals: what initd forwards, to whom, and what it does with the signals
// it must not forward (README "Signals"). The recording helper names its
// role in every line, so each assertion says which process got what.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	// leave-group starts a grandchild in a group of its own, then moves
	// into that group, leaving the group initd signals empty. It prints
	// "child moved PID".
	registerHelper("leave-group", func(args []string) {
		argv := helper("record", "grandchild", "TERM")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Println("child cannot start grandchild", err)
			os.Exit(1)
		}
		if err := syscall.Setpgid(0, cmd.Process.Pid); err != nil {
			fmt.Println("child setpgid:", err)
			os.Exit(1)
		}
		fmt.Printf("child moved %d\n", os.Getpid())
		time.Sleep(time.Hour)
	})
}

// Every catchable signal class reaches the child and, by default, the rest
// of its process group.
func TestForwardToGroup(t *testing.T) {
	p := start(t, pid1, append([]string{"--"}, helper("record", "child", "TERM", "grandchild")...)...)
	p.sawEvent("child", "ready")
	p.sawEvent("grandchild", "ready")
	for _, sig := range []syscall.Signal{
		syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGWINCH, syscall.SIGCONT, 34 + 3, 64, syscall.SIGSEGV, syscall.SIGPIPE, syscall.SIGTERM,
	} {
		p.signal(sig)
		name := sigName(sig)
		p.sawEvent("child", "got", name)
		p.sawEvent("grandchild", "got", name)
	}
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
}

func TestSingleChild(t *testing.T) {
	p := start(t, pid1, append([]string{"-c", "--grace", "100ms", "--"}, helper("record", "child", "TERM", "grandchild")...)...)
	p.sawEvent("grandchild", "ready")
	p.sawEvent("child", "ready")
	p.signal(syscall.SIGUSR1)
	p.expectEvent("child", "got", "SIGUSR1")
	p.signal(syscall.SIGTERM)
	p.expectEvent("child", "got", "SIGTERM")
	p.wait(20 * time.Second)
	if p.hasEvent("grandchild", "got", "SIGUSR1") {
		t.Error("with --single-child the grandchild got SIGUSR1")
	}
	// The grandchild was left over: initd sent it SIGTERM itself, since
	// the forwarded one reached the child alone.
	if !p.hasEvent("grandchild", "got", "SIGTERM") {
		t.Error("the leftover grandchild got no SIGTERM")
	}
}

func TestRewrite(t *testing.T) {
	p := start(t, pid1, append([]string{"-r", "TERM:QUIT", "--rewrite", "USR1:0", "--"}, helper("record", "child", "QUIT")...)...)
	p.expectEvent("child", "ready")
	p.signal(syscall.SIGUSR1)
	p.signal(syscall.SIGUSR2)
	p.expectEvent("child", "got", "SIGUSR2")
	p.signal(syscall.SIGTERM)
	p.expectEvent("child", "got", "SIGQUIT")
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d", got)
	}
	if p.hasEvent("child", "got", "SIGUSR1") || p.hasEvent("child", "got", "SIGTERM") {
		t.Errorf("rewritten signals leaked: %q", p.Out())
	}
}

// SIGURG is forwarded only when initd's runtime never sends it to itself.
func TestSIGURG(t *testing.T) {
	// The helper is a Go program too: switch its own preemption off so
	// that every SIGURG it records came from initd.
	p := start(t, runOpt{pid1: true, env: []string{"GODEBUG=asyncpreemptoff=1"}},
		append([]string{"--"}, helper("record", "child", "TERM")...)...)
	p.expectEvent("child", "ready")
	// Keep initd busy so that a runtime that preempted would have to.
	for i := 0; i < 2000; i++ {
		p.signal(syscall.SIGWINCH)
	}
	p.signal(syscall.SIGURG)
	p.expectEvent("child", "got", "SIGURG")
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if n := p.countEvent("child", "got", "SIGURG"); n != 1 {
		t.Errorf("child got %d SIGURGs, want the 1 that was sent", n)
	}

	// GODEBUG in the environment switches preemption back on: then no
	// SIGURG can be trusted and none is forwarded.
	p = start(t, runOpt{pid1: true, env: []string{"GODEBUG=asyncpreemptoff=0"}},
		"--", "/bin/sh", "-c", `trap 'echo got URG' URG; trap 'echo got USR1' USR1; trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	p.expect("ready")
	p.signal(syscall.SIGURG)
	p.signal(syscall.SIGUSR1)
	p.expect("got USR1")
	// The test is about a signal that must not arrive: give a wrongly
	// forwarded SIGURG time to show.
	time.Sleep(200 * time.Millisecond)
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if contains(p.Out(), "got URG") {
		t.Error("SIGURG forwarded although GODEBUG switched preemption on")
	}
}

// A SIGPIPE sent from outside is forwarded; the one raised by initd's own
// write to a closed stderr is neither forwarded nor fatal.
func TestSIGPIPE(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	p := start(t, runOpt{pid1: true, setup: func(c *exec.Cmd) { c.Stderr = w }},
		append([]string{"-vv", "--"}, helper("record", "child", "TERM")...)...)
	w.Close()
	p.expectEvent("child", "ready")
	p.signal(syscall.SIGUSR1) // -vv logs the forward: initd writes, gets EPIPE
	p.expectEvent("child", "got", "SIGUSR1")
	p.signal(syscall.SIGUSR2)
	p.expectEvent("child", "got", "SIGUSR2")
	if p.hasEvent("child", "got", "SIGPIPE") {
		t.Errorf("initd forwarded its own SIGPIPE: %q", p.Out())
	}
	// initd is alive and still forwards, including an outside SIGPIPE:
	// its own never left the thread that wrote the log line.
	p.signal(syscall.SIGPIPE)
	p.expectEvent("child", "got", "SIGPIPE")
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
	// Forwarding the outside SIGPIPE was logged too, and raised one
	// more of initd's own.
	if n := p.countEvent("child", "got", "SIGPIPE"); n != 1 {
		t.Errorf("child got %d SIGPIPEs, want the 1 sent from outside", n)
	}
}

// Without --kill-after, a child that ignores SIGTERM keeps running and
// initd keeps forwarding.
func TestIgnoredTermKeepsRunning(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `trap 'echo ignoring' TERM; trap 'exit 9' USR1; echo ready; while :; do sleep 0.1; done`)
	p.expect("ready")
	for i := 0; i < 3; i++ {
		p.signal(syscall.SIGTERM)
		p.expect("ignoring")
	}
	p.signal(syscall.SIGUSR1)
	if got := p.wait(10 * time.Second); got != 9 {
		t.Errorf("status %d, want 9", got)
	}
}

// A failed kill (the child's group is gone) is logged at -v and never
// fatal: initd goes on and reports the child's status. A forwarded signal
// falls back to the child itself (TestChildThatLeftItsGroup); the sweep
// of the leftovers still finds the group empty.
func TestFailedKillNotFatal(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"-v", "--"}, helper("leave-group")...)...)
	child := atoi(t, p.expectEvent("child", "moved")[2])
	p.sawEvent("grandchild", "ready")
	p.signal(syscall.SIGUSR1)
	syscall.Kill(child, syscall.SIGKILL)
	if got := p.wait(20 * time.Second); got != 137 {
		t.Errorf("status %d, want 137", got)
	}
	if !strings.Contains(p.Stderr(), "initd: cannot send ") {
		t.Errorf("no log of the failed kill: %q", p.Stderr())
	}
	// The grandchild had left the child's group; as initd's adopted child
	// it still got SIGTERM as a leftover.
	if !p.hasEvent("grandchild", "got", "SIGTERM") {
		t.Errorf("leftover outside the group got no SIGTERM: %q", p.Out())
	}
}

// --pdeath: when initd's parent dies, initd gets the signal and forwards
// it like any other.
func TestPdeath(t *testing.T) {
	inner := append([]string{initdBin, "-p", "USR1", "--"}, helper("record", "child", "TERM")...)
	p := start(t, runOpt{}, append([]string{"--", "/bin/sh", "-c", `echo "parent $$"; "$@" & wait`, "sh"}, inner...)...)
	parent := fieldInt(t, p.expect("parent "), 1)
	// The inner initd set its parent-death signal before it started the
	// child, so the parent may die now.
	p.sawEvent("child", "ready")
	if err := syscall.Kill(parent, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.sawEvent("child", "got", "SIGUSR1")
	p.wait(20 * time.Second)
}
