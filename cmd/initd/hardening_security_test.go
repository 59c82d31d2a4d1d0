package main

// Security: initd keeps the credentials, capabilities and no_new_privs it
// was started with, passes the child exactly the descriptors it was given,
// and never signals outside its own tree.

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// nnp-exec sets no_new_privs and execs the rest of its arguments.
	registerHelper("nnp-exec", func(args []string) {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			panic(err)
		}
		syscall.Exec(args[0], args, os.Environ())
		os.Exit(98)
	})
}

// credentials returns the lines of /proc/PID/status that describe its
// privileges.
func credentials(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"} {
			if strings.HasPrefix(l, k) {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return strings.Join(out, "\n")
}

// initd's credentials and capabilities are those of its parent, and the
// child's are initd's: as root in a PID namespace, and as an unprivileged
// user with no capabilities.
func TestHardeningCredentials(t *testing.T) {
	requireNamespaces(t)
	check := func(t *testing.T, o runOpt, parent int) {
		p := start(t, o, "--", "/bin/sleep", "30")
		child := childOf(t, p.Pid())
		waitFor(func() bool { return strings.Contains(credentials(t, child), "CapBnd") })
		time.Sleep(100 * time.Millisecond) // past the exec of sleep
		want := credentials(t, parent)
		if got := credentials(t, p.Pid()); got != want {
			t.Errorf("initd's credentials:\n%s\nwant its parent's:\n%s", got, want)
		}
		if got := credentials(t, child); got != want {
			t.Errorf("the child's credentials:\n%s\nwant:\n%s", got, want)
		}
		p.signal(syscall.SIGTERM)
		p.wait(20 * time.Second)
	}
	t.Run("root PID 1", func(t *testing.T) { check(t, pid1, os.Getpid()) })
	t.Run("unprivileged", func(t *testing.T) {
		// A helper with the same credentials stands for initd's parent.
		cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}}}
		ref := exec.Command("/bin/sleep", "30")
		ref.SysProcAttr = cred
		if err := ref.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { ref.Process.Kill(); ref.Wait() }()
		// initd's test build lives in a private directory: copy it
		// where the unprivileged user can run it.
		dir, err := os.MkdirTemp("", "initd-nobody")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		bin, _ := os.ReadFile(initdBin)
		os.WriteFile(dir+"/initd", bin, 0o755)
		check(t, runOpt{setup: func(c *exec.Cmd) { c.Path = dir + "/initd"; c.Args[0] = c.Path; c.SysProcAttr = cred; c.Dir = "/" }}, ref.Process.Pid)
	})
}

// no_new_privs set before initd stays set in initd and the child.
func TestHardeningNoNewPrivs(t *testing.T) {
	p := start(t, runOpt{setup: func(c *exec.Cmd) {
		c.Args = helper("nnp-exec", initdBin, "--", "/bin/sleep", "30")
		c.Path = c.Args[0]
	}})
	child := childOf(t, p.Pid())
	time.Sleep(100 * time.Millisecond)
	for _, pid := range []int{p.Pid(), child} {
		if c := credentials(t, pid); !strings.Contains(c, "NoNewPrivs: 1") {
			t.Errorf("pid %d lost no_new_privs:\n%s", pid, c)
		}
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
}

// The child gets exactly the descriptors initd was given, under several
// start conditions; initd adds none of its own (its signal pipes, /proc
// reads, the netpoller's epoll are all close-on-exec).
func TestHardeningNoLeakedDescriptors(t *testing.T) {
	f1, _ := os.Open("/dev/null")
	f2, _ := os.Open("/")
	defer f1.Close()
	defer f2.Close()
	for _, tt := range []struct {
		name  string
		o     runOpt
		flags []string
	}{
		{"nothing extra", runOpt{}, nil},
		{"nothing extra, PID 1, -vvv -w", pid1, []string{"-vvv", "-w"}},
		{"two extra", runOpt{extra: []*os.File{f1, f2}}, nil},
		{"two extra, PID 1, -p USR2 -c", runOpt{pid1: true, extra: []*os.File{f1, f2}}, []string{"-p", "USR2", "-c"}},
		{"a hole at 3", runOpt{extra: []*os.File{nil, f2}}, nil},
		{"stdin from a file", runOpt{setup: func(c *exec.Cmd) { c.Stdin = f1 }}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.flags...), "--")
			args = append(args, helper("args")...)
			if tt.o.pid1 {
				requireNamespaces(t)
			}
			got, p := run(t, tt.o, args...)
			if got != 0 {
				t.Fatalf("status %d, stderr %q", got, p.Stderr())
			}
			// The same helper started directly, the same way, shows
			// what the caller gave (the test process may itself have
			// inherited descriptors without close-on-exec).
			direct := exec.Command(helper("args")[0], helper("args")[1:]...)
			direct.ExtraFiles = tt.o.extra
			if tt.o.setup != nil {
				tt.o.setup(direct)
			}
			out, _ := direct.Output()
			want := lineWith(strings.Split(string(out), "\n"), "fds ")
			if fds := lineWith(p.Out(), "fds "); fds != want || want == "" {
				t.Errorf("child descriptors %q, want %q as without initd", fds, want)
			}
		})
	}
}

// A decoy in initd's own process group, outside initd's tree, survives
// every shutdown path and receives no signal at all.
func TestHardeningDecoyEveryPath(t *testing.T) {
	var decoyOut bytes.Buffer
	var mu sync.Mutex
	decoyText := func() string { mu.Lock(); defer mu.Unlock(); return decoyOut.String() }
	decoy := exec.Command(helper("record", "decoy", "SYS")[0], helper("record", "decoy", "SYS")[1:]...)
	// The decoy is a Go program that records every signal: switch its
	// own preemption off, or it would record its runtime's SIGURGs.
	decoy.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	decoy.Stdout = &syncWriter{w: &decoyOut, mu: &mu}
	decoy.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { decoy.Process.Kill(); decoy.Wait() }()
	waitFor(func() bool { return strings.Contains(decoyText(), "ready") })
	group := runOpt{setup: func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: decoy.Process.Pid}
	}}
	type path struct {
		name string
		args []string
		sig  syscall.Signal // sent to initd after 150ms, if any
	}
	for _, tt := range []path{
		{"child exits, nothing left", []string{"--", "/bin/sh", "-c", "exit 3"}, 0},
		{"usage error", []string{"--bogus"}, 0},
		{"exec failure", []string{"--", "/no/such"}, 0},
		{"forwarded TERM", []string{"--", "/bin/sleep", "30"}, syscall.SIGTERM},
		{"forwarded INT", []string{"--", "/bin/sleep", "30"}, syscall.SIGINT},
		{"forwarded HUP, rewritten", []string{"-r", "HUP:TERM", "--", "/bin/sleep", "30"}, syscall.SIGHUP},
		{"forwarded QUIT", []string{"--", "/bin/sleep", "30"}, syscall.SIGQUIT},
		{"leftovers, grace over", []string{"-t", "200ms", "--", "/bin/sh", "-c", "(trap '' TERM; sleep 30) & sleep 0.1"}, 0},
		{"grace 0 (the leftover outlives initd)", []string{"-t", "0", "--", "/bin/sh", "-c", "sleep 1 >/dev/null 2>&1 & sleep 0.1"}, 0},
		{"single child, leftovers", []string{"-c", "-t", "200ms", "--", "/bin/sh", "-c", "sleep 30 & sleep 30"}, syscall.SIGTERM},
		{"kill-after", []string{"-k", "100ms", "--", "/bin/sh", "-c", "trap '' TERM; sleep 30"}, syscall.SIGTERM},
		{"orphan adopted, killed at grace", []string{"-t", "200ms", "--", "/bin/sh", "-c", "(setsid sh -c \"trap '' TERM; sleep 30\" &); sleep 0.1"}, 0},
		{"pause, TERM", []string{"--pause"}, syscall.SIGTERM},
		{"pause, INT", []string{"--pause"}, syscall.SIGINT},
		{"remap", []string{"-e", "143", "--", "/bin/sleep", "30"}, syscall.SIGTERM},
	} {
		t.Logf("path: %s", tt.name)
		p := start(t, group, tt.args...)
		if tt.sig != 0 {
			time.Sleep(150 * time.Millisecond)
			syscall.Kill(p.Pid(), tt.sig)
		}
		p.wait(20 * time.Second)
		if st, ok := stat(decoy.Process.Pid); !ok || st.state == 'Z' {
			t.Fatalf("%s: the decoy is gone", tt.name)
		}
		if s := decoyText(); strings.Contains(s, "got") {
			t.Fatalf("%s: the decoy was signalled: %q", tt.name, s)
		}
	}
}
