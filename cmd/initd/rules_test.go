package main

// End-to-end tests of the shutdown rules that package lifecycle decides:
// one test per rule that a user would see go wrong. The table tests of
// the rules themselves are in internal/lifecycle.

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	registerHelper("tree", tree)
	registerHelper("worker", worker)
}

// tree runs its arguments as steps, printing what it does:
//
//	worker:ROLE:group|setsid:CLEANUP  start a worker, wait until it is ready
//	stop:ROLE                         SIGSTOP that worker
//	wait:SIG                          block until SIG arrives ("main got SIG")
//	ready                             print "main ready"
//	hold                              block forever, printing signals
//	exit:N                            exit with N
//
// Its own signals are printed as "main got SIGNAME".
func tree(args []string) {
	c := make(chan os.Signal, 100)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1)
	workers := map[string]*exec.Cmd{}
	for _, step := range args {
		f := strings.Split(step, ":")
		switch f[0] {
		case "worker":
			r, w, err := os.Pipe()
			if err != nil {
				fmt.Println("pipe:", err)
				os.Exit(1)
			}
			cmd := exec.Command(os.Args[0], "-helper=worker", f[1], f[3])
			cmd.Env = append(os.Environ(), "INITD_TEST_HELPER=1")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			cmd.ExtraFiles = []*os.File{w}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: f[2] == "setsid"}
			if err := cmd.Start(); err != nil {
				fmt.Println("start worker:", err)
				os.Exit(1)
			}
			w.Close()
			r.Read(make([]byte, 1)) // the worker closes its end once ready
			r.Close()
			workers[f[1]] = cmd
		case "stop":
			workers[f[1]].Process.Signal(syscall.SIGSTOP)
			fmt.Println("stopped", f[1])
		case "wait":
			want := parseSig(f[1])
			for s := range c {
				fmt.Println("main got", signame(s))
				if s == want {
					break
				}
			}
		case "ready":
			fmt.Println("main ready")
		case "hold":
			for s := range c {
				fmt.Println("main got", signame(s))
			}
		case "exit":
			n, _ := strconv.Atoi(f[1])
			os.Exit(n)
		}
	}
}

// worker ROLE CLEANUP prints "ROLE ready PID PGRP", then "ROLE got SIG"
// for every signal it receives. The first TERM or INT starts a cleanup
// that takes CLEANUP and ends with "ROLE cleanup done" and exit 0; signals
// that arrive meanwhile are still printed, so a second SIGTERM shows.
func worker(args []string) {
	role := args[0]
	cleanup, _ := time.ParseDuration(args[1])
	c := make(chan os.Signal, 100)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1)
	fmt.Printf("%s ready %d %d\n", role, os.Getpid(), syscall.Getpgrp())
	os.NewFile(3, "ready").Close()
	done := make(chan struct{})
	cleaning := false
	for {
		select {
		case s := <-c:
			fmt.Printf("%s got %s\n", role, signame(s))
			if (s == syscall.SIGTERM || s == syscall.SIGINT) && !cleaning {
				cleaning = true
				go func() { time.Sleep(cleanup); close(done) }()
			}
		case <-done:
			fmt.Printf("%s cleanup done\n", role)
			os.Exit(0)
		}
	}
}

func parseSig(name string) syscall.Signal {
	for n := syscall.Signal(1); n < 65; n++ {
		if signame(n) == "SIG"+name {
			return n
		}
	}
	panic("unknown signal " + name)
}

func signame(s os.Signal) string {
	n := s.(syscall.Signal)
	return map[syscall.Signal]string{
		syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP",
		syscall.SIGQUIT: "SIGQUIT", syscall.SIGUSR1: "SIGUSR1", syscall.SIGKILL: "SIGKILL",
	}[n]
}

// lines counts the stdout lines equal to want.
func lines(p *proc, want string) int {
	n := 0
	for _, l := range p.Out() {
		if l == want {
			n++
		}
	}
	return n
}

// running reports whether initd is still running after d.
func running(p *proc, d time.Duration) bool {
	select {
	case <-p.done:
		return false
	case <-time.After(d):
		return true
	}
}

// A reload (HUP) or a thread dump (QUIT) is not a stop: it does not start
// --kill-after, so the app is not SIGKILLed for reloading.
func TestReloadIsNotAStop(t *testing.T) {
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(signame(s), func(t *testing.T) {
			p := start(t, runOpt{pid1: true}, append([]string{"-k", "1s", "--"}, helper("tree", "ready", "hold")...)...)
			p.expect("main ready")
			p.signal(s)
			p.saw("main got " + signame(s))
			// Time passing is the point: past --kill-after, the app lives.
			if !running(p, 2*time.Second) {
				t.Fatalf("initd exited with %d after %s: --kill-after fired", p.cmd.ProcessState.ExitCode(), signame(s))
			}
			p.signal(syscall.SIGTERM)
			if code := p.wait(5 * time.Second); code != 137 {
				t.Errorf("status %d after SIGTERM and --kill-after, want 137", code)
			}
		})
	}
}

// A HUP forwarded earlier does not count as telling the group to stop: a
// worker left behind when the main child exits still gets initd's SIGTERM
// and finishes its cleanup, rather than waiting for the SIGKILL.
func TestEarlierHUPKeepsLeftoversSIGTERM(t *testing.T) {
	p := start(t, runOpt{pid1: true}, append([]string{"-t", "60s", "--"}, helper("tree", "worker:w:group:10ms", "wait:HUP", "exit:0")...)...)
	p.expect("w ready")
	p.signal(syscall.SIGHUP)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
	if lines(p, "w got SIGTERM") != 1 || lines(p, "w cleanup done") != 1 {
		t.Errorf("the worker did not get one SIGTERM and finish: %q", p.Out())
	}
}

// A stop that arrives while the leftovers are already handling initd's
// SIGTERM is not sent to them again, so a trap never runs twice.
func TestTrapRunsOnceDuringDrain(t *testing.T) {
	for _, pid1 := range []bool{true, false} {
		t.Run(fmt.Sprint("pid1=", pid1), func(t *testing.T) {
			p := start(t, runOpt{pid1: pid1}, append([]string{"--"}, helper("tree", "worker:w:group:1s", "worker:d:setsid:1s", "exit:0")...)...)
			p.expect("w got SIGTERM")
			p.saw("d got SIGTERM")
			p.signal(syscall.SIGTERM) // docker stop, mid-cleanup
			// Other signals still reach them during the drain.
			p.signal(syscall.SIGUSR1)
			p.expect("w got SIGUSR1")
			p.saw("d got SIGUSR1")
			if code := p.wait(30 * time.Second); code != 0 {
				t.Errorf("status %d, want 0", code)
			}
			for _, role := range []string{"w", "d"} {
				if n := lines(p, role+" got SIGTERM"); n != 1 {
					t.Errorf("%s got SIGTERM %d times, want once", role, n)
				}
				if lines(p, role+" cleanup done") != 1 {
					t.Errorf("%s's cleanup was cut short", role)
				}
			}
		})
	}
}

// A leftover that is stopped when the main child exits gets SIGCONT after
// initd's SIGTERM, so it handles it instead of sitting until the SIGKILL.
func TestStoppedLeftoverHandlesSIGTERM(t *testing.T) {
	p := start(t, runOpt{pid1: true}, append([]string{"-t", "60s", "--"}, helper("tree", "worker:w:group:10ms", "stop:w", "exit:0")...)...)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
	if lines(p, "w got SIGTERM") != 1 || lines(p, "w cleanup done") != 1 {
		t.Errorf("the stopped worker did not handle SIGTERM: %q", p.Out())
	}
}

// A main child that moved into another process group still gets the
// signals: the empty group falls back to the child itself.
func TestChildThatLeftItsGroup(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"-t", "1s", "--"}, helper("leave-group")...)...)
	p.expect("moved")
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 143 {
		t.Errorf("status %d, want 143: the child died of the forwarded SIGTERM", code)
	}
}

// --grace 0 when not PID 1 SIGKILLs what is left instead of leaving it
// running, re-parented elsewhere.
func TestGraceZeroNotPID1KillsLeftovers(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"-t", "0", "--"}, helper("tree", "worker:w:setsid:1h", "exit:0")...)...)
	ready := p.expect("w ready")
	pid, _ := strconv.Atoi(strings.Fields(ready)[2])
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
	if !waitFor(func() bool { st, ok := stat(pid); return !ok || st.state == 'Z' }) {
		t.Errorf("leftover %d still running after initd --grace 0 exited", pid)
	}
}

// Not PID 1 and without a /proc that shows its children, initd still ends
// the grace period on time: it SIGKILLs the group it can reach and exits,
// instead of waiting for a daemon it cannot see.
func TestGraceEndsWithoutProc(t *testing.T) {
	requireNamespaces(t)
	script := `mount -t tmpfs none /proc && exec "$@"`
	p := start(t, runOpt{setup: func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
		c.Path = "/bin/sh"
		c.Args = append([]string{"sh", "-c", "mount --make-rprivate / && " + script, "sh"}, c.Args...)
	}}, append([]string{"-t", "1s", "--"}, helper("tree", "worker:d:setsid:1h", "exit:0")...)...)
	ready := p.expect("d ready")
	pid, _ := strconv.Atoi(strings.Fields(ready)[2])
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// The daemon holds initd's stdout open, so the harness cannot see
	// initd exit until the daemon is gone: watch for its zombie instead.
	exited := func() bool { st, ok := stat(p.Pid()); return !ok || st.state == 'Z' }
	deadline := time.Now().Add(20 * time.Second)
	for !exited() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !exited() {
		t.Fatal("initd still running 20 s after its child exited with --grace 1s")
	}
	if st, ok := stat(pid); !ok || st.state == 'Z' {
		t.Errorf("the daemon is gone: initd reached it without /proc after all, or the test is wrong")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
}

// PID 1 of a namespace that kept an ancestor's /proc: after a forwarded
// stop, a setsid daemon outside the child's group still gets initd's
// SIGTERM, found through the NSpid lines of that /proc.
func TestPID1WithAncestorProc(t *testing.T) {
	requireNamespaces(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1) from util-linux")
	}
	p := start(t, runOpt{setup: func(c *exec.Cmd) {
		c.Path = unshare
		c.Args = append([]string{"unshare", "--pid", "--fork", "--"}, c.Args...)
	}}, append([]string{"-t", "60s", "--"}, helper("tree", "worker:d:setsid:10ms", "wait:TERM", "exit:0")...)...)
	p.expect("d ready")
	kids := descendants(p.Pid())
	if len(kids) == 0 {
		t.Fatal("no initd under unshare")
	}
	if err := syscall.Kill(kids[0], syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(30 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
	if lines(p, "d got SIGTERM") != 1 || lines(p, "d cleanup done") != 1 {
		t.Errorf("the daemon did not get initd's SIGTERM: %q", p.Out())
	}
}

// The shell form reports what the app did: dash waits for "./app" instead
// of exec'ing it, so the stop kills dash (143) while the app traps it and
// exits with its own status, which initd reports. bash exec's the app, so
// the app is the main child and its status is reported anyway;
// --report-shell keeps dash's own.
func TestShellFormReportsTheAppStatus(t *testing.T) {
	dir := t.TempDir()
	app := dir + "/app.sh"
	script := "#!/bin/sh\ntrap 'echo trapped; sleep 0.2; exit 3' TERM\necho ready\nwhile :; do sleep 0.05 & wait $!; done\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string // initd's
		want int
	}{
		{"dash", []string{"--", "/bin/sh", "-c", app}, 3},
		{"bash", []string{"--", "/bin/bash", "-c", app}, 3},
		{"dash --report-shell", []string{"--report-shell", "--", "/bin/sh", "-c", app}, 143},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.args[len(tt.args)-3]); err != nil {
				t.Skipf("no %s", tt.args[len(tt.args)-3])
			}
			p := start(t, runOpt{pid1: true}, tt.args...)
			p.expect("ready")
			p.signal(syscall.SIGTERM)
			if code := p.wait(20 * time.Second); code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
			if lines(p, "trapped") != 1 {
				t.Errorf("the trap did not run once: %q", p.Out())
			}
		})
	}
}
