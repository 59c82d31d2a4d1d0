package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// args prints its arguments, working directory, INITD_TEST_VALUE,
	// open descriptors, signal masks, CPU set, process group and the
	// terminal's foreground group.
	registerHelper("args", func(args []string) {
		for _, a := range args {
			fmt.Printf("arg %q\n", a)
		}
		wd, _ := os.Getwd()
		fmt.Printf("cwd %s\n", wd)
		fmt.Printf("env %s\n", os.Getenv("INITD_TEST_VALUE"))
		fmt.Printf("fds %s\n", strings.Join(openFDs(), ","))
		status, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "SigIgn:") || strings.HasPrefix(l, "SigBlk:") || strings.HasPrefix(l, "Cpus_allowed_list:") {
				fmt.Println(l)
			}
		}
		pgrp := syscall.Getpgrp()
		fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		fmt.Printf("pgrp %d foreground %d %v\n", pgrp, fg, err)
		os.Stdout.Sync()
	})
	// sigmask-exec execs the rest of its arguments with SIGUSR1 blocked,
	// as a caller that blocked it before exec would.
	registerHelper("sigmask-exec", func(args []string) {
		runtime.LockOSThread()
		var set unix.Sigset_t
		set.Val[0] = 1 << (syscall.SIGUSR1 - 1)
		unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
		syscall.Exec(args[0], args, os.Environ())
		os.Exit(98)
	})
}

// openFDs lists the process's descriptors with raw syscalls, leaving out
// the one used to read the list, so no Go runtime descriptor appears.
func openFDs() []string {
	d, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{err.Error()}
	}
	defer unix.Close(d)
	buf := make([]byte, 4096)
	var names []string
	for {
		n, err := unix.ReadDirent(d, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var out []string
	for _, n := range names {
		if n != strconv.Itoa(d) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { a, _ := strconv.Atoi(out[i]); b, _ := strconv.Atoi(out[j]); return a < b })
	return out
}

// orphans double-forks n processes that exit at once, then waits for
// SIGTERM, so the test can look for zombies while initd runs.
func orphans(n int) []string {
	return []string{"/bin/sh", "-c", `i=0; while [ $i -lt ` + strconv.Itoa(n) + ` ]; do ( true & ); i=$((i+1)); done
echo made; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done`}
}

func TestReapOrphans(t *testing.T) {
	p := start(t, pid1, append([]string{"--"}, orphans(1000)...)...)
	p.expect("made")
	if !waitFor(func() bool { return zombies(p.Pid()) == 0 }) {
		t.Errorf("%d zombies left under initd", zombies(p.Pid()))
	}
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d", got)
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

// Leftovers that exit on SIGTERM finish their cleanup, and initd exits
// right after them with the main child's status.
func TestLeftoversFinishCleanup(t *testing.T) {
	// The main child exits only once the leftover's trap is set.
	flag := filepath.Join(t.TempDir(), "ready")
	p := start(t, pid1, "--", "/bin/sh", "-c", `
(trap 'echo "leftover cleaning"; sleep 0.5; echo "leftover done"; exit 0' TERM; echo leftover ready; : > "$1"; while :; do sleep 1 & wait $!; done) &
while [ ! -e "$1" ]; do sleep 0.01; done; exit 7`, "sh", flag)
	p.expect("leftover ready")
	begin := time.Now()
	got := p.wait(10 * time.Second)
	if got != 7 {
		t.Errorf("status %d, want the main child's 7", got)
	}
	if !p.has("leftover done") {
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
	p := start(t, pid1, "--grace", "500ms", "--", "/bin/sh", "-c", `
trap '' TERM; (echo stubborn; sleep 30; echo "survived") &
sleep 0.2; exit 5`)
	p.expect("stubborn")
	if got := p.wait(10 * time.Second); got != 5 {
		t.Errorf("status %d, want 5", got)
	}
	if p.has("survived") {
		t.Error("stubborn leftover survived")
	}
}

// --grace 0 exits at once, like tini; the kernel then kills the namespace.
func TestGraceZero(t *testing.T) {
	p := start(t, pid1, "--grace", "0", "--", "/bin/sh", "-c", `(trap '' TERM; sleep 30) & echo bg; exit 4`)
	p.expect("bg")
	if got := p.wait(10 * time.Second); got != 4 {
		t.Errorf("status %d, want 4", got)
	}
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

// Not PID 1: initd becomes a subreaper by itself, adopts and reaps
// orphans, and propagates the status.
func TestSubreaper(t *testing.T) {
	// The orphan ignores initd's SIGTERM to leftovers, and reads its
	// real parent from /proc ($PPID in a subshell is the shell's).
	p := start(t, runOpt{}, "--", "/bin/sh", "-c", `trap '' TERM; (sleep 0.3; exec /bin/sh -c 'read -r _ _ _ ppid _ < /proc/self/stat; echo "orphan parent $ppid"') & echo spawned; exit 6`)
	p.expect("spawned")
	line := p.expect("orphan parent")
	if want := "orphan parent " + strconv.Itoa(p.Pid()); line != want {
		t.Errorf("%q, want %q: the orphan was not re-parented to initd", line, want)
	}
	if got := p.wait(10 * time.Second); got != 6 {
		t.Errorf("status %d, want 6", got)
	}
}

// Not PID 1, initd signals only its own tree: a decoy in initd's own
// process group and session survives every shutdown path.
func TestNeverSignalsOutsideTree(t *testing.T) {
	decoy := exec.Command("/bin/sleep", "60")
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	defer decoy.Process.Kill()
	for _, args := range [][]string{
		{"--", "/bin/sh", "-c", "(trap '' TERM; sleep 30) & exit 0"},   // leftover, SIGKILL at grace
		{"-t", "200ms", "--", "/bin/sh", "-c", "sleep 30 & sleep 0.1"}, // leftover in the group
		{"-c", "-k", "100ms", "--", "/bin/sh", "-c", "trap '' TERM; sleep 0.3; setsid sleep 30 & sleep 30"},
	} {
		p := start(t, runOpt{}, append([]string{"-t", "300ms"}, args...)...)
		time.Sleep(150 * time.Millisecond)
		syscall.Kill(p.Pid(), syscall.SIGTERM) // initd may be gone already
		p.wait(10 * time.Second)
		if err := decoy.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("decoy gone after initd %q: %v", args, err)
		}
		if st, _ := stat(decoy.Process.Pid); st.state == 'Z' {
			t.Fatalf("decoy killed by initd %q", args)
		}
	}
}

func TestPause(t *testing.T) {
	requireNamespaces(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		p := start(t, pid1, "--pause")
		time.Sleep(100 * time.Millisecond)
		// Orphans made inside initd's namespace are re-parented to it.
		nsenter := exec.Command("nsenter", "-t", strconv.Itoa(p.Pid()), "-p", "--", "/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do ( true & ); i=$((i+1)); done")
		if out, err := nsenter.CombinedOutput(); err != nil {
			t.Fatalf("nsenter: %v %s", err, out)
		}
		if !waitFor(func() bool { return zombies(p.Pid()) == 0 }) {
			t.Errorf("--pause left %d zombies", zombies(p.Pid()))
		}
		p.signal(sig)
		if got := p.wait(10 * time.Second); got != 0 {
			t.Errorf("--pause on %v: status %d, want 0", sig, got)
		}
	}
}

// Arguments, environment, working directory and inherited descriptors
// reach the child unchanged; initd keeps no copy of those descriptors and
// leaves the working directory.
func TestPassThrough(t *testing.T) {
	dir := t.TempDir()
	extra, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	args := []string{"with space", "new\nline", "", "-c", "--", "ünï"}
	// Keep the child alive long enough to inspect initd's descriptors.
	argv := []string{"--", "/bin/sh", "-c", `"$@"; echo finished; exec sleep 30`, "sh"}
	argv = append(argv, helper("args", args...)...)
	p := start(t, runOpt{pid1: true, dir: dir, env: []string{"INITD_TEST_VALUE=a b=c"}, extra: []*os.File{extra}}, argv...)
	p.expect("finished")
	wantArgs := []string{`arg "with space"`, `arg "new\nline"`, `arg ""`, `arg "-c"`, `arg "--"`, `arg "ünï"`, "cwd " + dir, "env a b=c"}
	got := p.Out()
	for _, w := range wantArgs {
		if !contains(got, w) {
			t.Errorf("child output lacks %q: %q", w, got)
		}
	}
	// The child sees exactly the descriptors it sees when started
	// without initd (3 and whatever the test itself inherited); nothing
	// of initd's own.
	direct := exec.Command(helper("args")[0], helper("args")[1:]...)
	direct.ExtraFiles = []*os.File{extra}
	out, _ := direct.Output()
	want := lineWith(strings.Split(string(out), "\n"), "fds ")
	if fds := lineWith(got, "fds "); fds != want || !strings.Contains(fds, "3") {
		t.Errorf("child descriptors %q, want %q as without initd", fds, want)
	}
	initd := p.Pid()
	if cwd, _ := os.Readlink("/proc/" + strconv.Itoa(initd) + "/cwd"); cwd != "/" {
		t.Errorf("initd's working directory is %q, want /", cwd)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(initd) + "/fd/3"); err == nil {
		if target, _ := os.Readlink("/proc/" + strconv.Itoa(initd) + "/fd/3"); target == dir {
			t.Errorf("initd kept its copy of inherited descriptor 3 (%s)", target)
		}
	}
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
}

// A signal ignored when initd starts (nohup) stays ignored in the child,
// and a signal blocked when initd starts stays blocked in the child. The
// outer initd only collects the output of an inner one that is started
// with that signal state.
func TestSignalStateInherited(t *testing.T) {
	const hup, usr1 = 1 << (syscall.SIGHUP - 1), 1 << (syscall.SIGUSR1 - 1)
	p := start(t, runOpt{}, append([]string{"--", "/bin/sh", "-c", `trap '' HUP; exec "$@"`, "sh", initdBin, "--"}, helper("args")...)...)
	p.wait(10 * time.Second)
	if ign := sigmask(t, p.Out(), "SigIgn:"); ign&hup == 0 {
		t.Errorf("SIGHUP ignored before initd is not ignored in the child (SigIgn %#x)", ign)
	}

	inner := append([]string{initdBin, "--"}, helper("args")...)
	p = start(t, runOpt{}, append(append([]string{"--"}, helper("sigmask-exec")...), inner...)...)
	p.wait(10 * time.Second)
	if blk := sigmask(t, p.Out(), "SigBlk:"); blk&usr1 == 0 {
		t.Errorf("SIGUSR1 blocked before initd is not blocked in the child (SigBlk %#x)", blk)
	}
}

func sigmask(t *testing.T, lines []string, field string) uint64 {
	t.Helper()
	l := lineWith(lines, field)
	n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(l, field)), 16, 64)
	if err != nil {
		t.Fatalf("no %s line in %q", field, lines)
	}
	return n
}

// Standard input reaches the child unchanged.
func TestStdinPassThrough(t *testing.T) {
	p := start(t, runOpt{pid1: true, setup: func(c *exec.Cmd) { c.Stdin = strings.NewReader("line one\nline two\n") }},
		"--", "/bin/sh", "-c", `while read -r l; do echo "read: $l"; done; echo eof`)
	if got := p.wait(10 * time.Second); got != 0 {
		t.Errorf("status %d", got)
	}
	for _, want := range []string{"read: line one", "read: line two", "eof"} {
		if !contains(p.Out(), want) {
			t.Errorf("child output %q lacks %q", p.Out(), want)
		}
	}
}

// initd pins its own threads to one CPU while it subscribes to signals;
// the child must still get the CPU set initd was started with: outside a
// namespace, as PID 1 with its own /proc, and as PID 1 under the host's
// /proc (where initd cannot list its threads).
func TestCPUSetPassThrough(t *testing.T) {
	want := lineWith(strings.Split(readFile(t, "/proc/self/status"), "\n"), "Cpus_allowed_list:")
	hostProc := runOpt{setup: func(c *exec.Cmd) {
		requireNamespaces(t)
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	}}
	for name, o := range map[string]runOpt{"plain": {}, "PID 1": pid1, "PID 1, host /proc": hostProc} {
		_, p := run(t, o, append([]string{"--"}, helper("args")...)...)
		if got := lineWith(p.Out(), "Cpus_allowed_list:"); got != want {
			t.Errorf("%s: child has %q, want %q as initd had", name, got, want)
		}
	}
}
