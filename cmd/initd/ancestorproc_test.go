package main

// initd as PID 1 of a PID namespace that kept an ancestor's /proc, and
// without CAP_SYS_PTRACE, as under Docker's default capability set. There
// /proc/PID/ns/pid of another user's process cannot be read, so these
// tests run the processes initd must find as uid 1000.

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// otherUID is the user the processes initd must find run as: not initd's.
const otherUID = 1000

func init() {
	registerHelper("noptrace-exec", noptraceExec)
	registerHelper("user-daemon", userDaemon)
	registerHelper("as-user", asUser)
}

// noptraceExec ARGV... drops CAP_SYS_PTRACE for good and execs ARGV. It
// is PID 1 of a new PID namespace but keeps the mount namespace, so ARGV
// becomes that PID 1 and sees the ancestor's /proc.
func noptraceExec(argv []string) {
	fail := func(what string, err error) {
		fmt.Fprintln(os.Stderr, "noptrace-exec:", what, err)
		os.Exit(121)
	}
	// Capabilities are per thread: drop them on the thread that execs.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_PTRACE, 0, 0, 0); err != nil {
		fail("PR_CAPBSET_DROP:", err)
	}
	// Root's exec grants the bounding set plus the inheritable set.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		fail("capget:", err)
	}
	const bit = 1 << unix.CAP_SYS_PTRACE
	data[0].Effective &^= bit
	data[0].Permitted &^= bit
	data[0].Inheritable &^= bit
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		fail("capset:", err)
	}
	fail("exec:", syscall.Exec(argv[0], argv, os.Environ()))
}

// userDaemon UID ROLE CLEANUP starts a worker (see worker) that runs as UID
// in a session of its own, waits until it is ready, prints "main ready"
// and exits 0 on SIGTERM.
func userDaemon(args []string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	cmd := exec.Command(os.Args[0], append([]string{"-helper=as-user"}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Println("start daemon:", err)
		os.Exit(1)
	}
	w.Close()
	r.Read(make([]byte, 1))
	fmt.Println("main ready")
	<-c
	fmt.Println("main got SIGTERM")
}

// asUser UID ROLE CLEANUP becomes UID and runs worker ROLE CLEANUP. It
// changes its ids itself rather than exec'ing as UID: the test binary's
// directory is not UID's to enter.
func asUser(args []string) {
	uid, _ := strconv.Atoi(args[0])
	if err := syscall.Setgroups(nil); err != nil {
		fmt.Println("setgroups:", err)
		os.Exit(1)
	}
	if err := syscall.Setgid(uid); err != nil {
		fmt.Println("setgid:", err)
		os.Exit(1)
	}
	if err := syscall.Setuid(uid); err != nil {
		fmt.Println("setuid:", err)
		os.Exit(1)
	}
	fmt.Printf("%s uid %d\n", args[1], os.Getuid())
	worker(args[1:])
}

// ancestorProc runs initd as PID 1 of a new PID namespace that keeps the
// test's /proc: without CAP_SYS_PTRACE unless ptrace, and under the
// seccomp filter of an older kernel (see seccompExec) when kernel is set.
func ancestorProc(t *testing.T, ptrace bool, kernel string) runOpt {
	requireNamespaces(t)
	if kernel != "" && runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter is written for amd64")
	}
	return runOpt{setup: func(c *exec.Cmd) {
		argv := c.Args
		if kernel != "" {
			argv = helper("seccomp-exec", append([]string{kernel}, argv...)...)
		}
		if !ptrace {
			argv = helper("noptrace-exec", argv...)
		}
		c.Path, c.Args = argv[0], argv
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	}}
}

// hasPtrace reports whether initd, once it runs, has CAP_SYS_PTRACE in any
// of its sets.
func hasPtrace(t *testing.T, p *proc) bool {
	t.Helper()
	waitExec(t, p.Pid(), "initd")
	for _, l := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(p.Pid())+"/status"), "\n") {
		for _, key := range []string{"CapEff:", "CapPrm:", "CapBnd:"} {
			if v, ok := strings.CutPrefix(l, key); ok {
				caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil || caps&(1<<unix.CAP_SYS_PTRACE) != 0 {
					return true
				}
			}
		}
	}
	return false
}

// After a forwarded stop, when the main child exits, a setsid daemon of
// another user outside the child's group gets initd's SIGTERM and
// finishes its cleanup, rather than being SIGKILLed at the end of the
// grace period for want of ptrace access to its /proc/PID/ns/pid.
// Without pidfds only that link tells initd's processes from a sibling
// namespace's, so there the daemon stays unseen, as package procfs says.
func TestPID1AncestorProcOtherUser(t *testing.T) {
	for _, tt := range []struct {
		name, kernel string
		ptrace, seen bool
	}{
		{"pidfds, no ptrace", "", false, true},
		{"no pidfds, ptrace", "no-pidfds", true, true},
		{"no pidfds, no ptrace", "no-pidfds", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, ancestorProc(t, tt.ptrace, tt.kernel), append([]string{"-t", "1s", "--"}, helper("user-daemon", strconv.Itoa(otherUID), "d", "10ms")...)...)
			if hasPtrace(t, p) != tt.ptrace {
				t.Fatalf("initd has CAP_SYS_PTRACE: %v, want %v: the test proves nothing", !tt.ptrace, tt.ptrace)
			}
			p.sawEvent("d", "uid", strconv.Itoa(otherUID))
			p.sawEvent("main", "ready")
			p.signal(syscall.SIGTERM)
			code := p.wait(20 * time.Second)
			if code != 0 {
				t.Errorf("status %d, want 0", code)
			}
			if !tt.seen {
				if p.hasEvent("d", "got", "SIGTERM") {
					t.Errorf("the daemon got initd's SIGTERM where package procfs says initd cannot see it: update its doc: %q", p.Out())
				}
				return
			}
			if !p.hasEvent("d", "got", "SIGTERM") {
				t.Fatalf("the uid %d daemon never got initd's SIGTERM: initd did not see it in the ancestor's /proc", otherUID)
			}
			if lines(p, "d got SIGTERM") != 1 || lines(p, "d cleanup done") != 1 {
				t.Errorf("the daemon did not get one SIGTERM and finish its cleanup: %q", p.Out())
			}
		})
	}
}

// The gosu/su-exec pattern: the shell waits for a command that runs as
// another user; the stop signal kills the shell (143) while the command
// traps it and exits 3, which initd reports. The trap outlasts the loop's
// last sleep, so that the command is the one process left of the group.
func TestPID1AncestorProcOtherUserShellStatus(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		skip(t, "needs setpriv(1) from util-linux")
	}
	app := `trap "echo trapped; sleep 0.2; exit 3" TERM; echo ready; while :; do sleep 0.05 & wait $!; done`
	cmd := fmt.Sprintf("%s --reuid=%d --regid=%d --clear-groups /bin/sh -c '%s'", setpriv, otherUID, otherUID, app)
	p := start(t, ancestorProc(t, false, ""), "--", "/bin/sh", "-c", cmd)
	if hasPtrace(t, p) {
		t.Fatal("initd has CAP_SYS_PTRACE: the test proves nothing")
	}
	p.expect("ready")
	p.signal(syscall.SIGTERM)
	code := p.wait(20 * time.Second)
	if lines(p, "trapped") != 1 {
		t.Errorf("the app's trap did not run once: %q", p.Out())
	}
	if code != 3 {
		t.Errorf("status %d, want 3: the app runs as uid %d and initd did not see it", code, otherUID)
	}
}
