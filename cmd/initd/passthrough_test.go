package main

// Pass-through: what the child gets from initd's caller arrives unchanged
// (arguments, environment, directory, stdin, descriptors, ignored and
// blocked signals, CPU set, credentials and no_new_privs), and initd adds
// nothing of its own.

import (
	"fmt"
	"os"
	"os/exec"
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
	// nnp-exec sets no_new_privs and execs the rest of its arguments.
	registerHelper("nnp-exec", func(args []string) {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			panic(err)
		}
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

// directFDs is the "fds" line of the args helper started without initd,
// the way setup and extra say: what the caller gives (the test process
// may itself have inherited descriptors without close-on-exec).
func directFDs(t *testing.T, extra []*os.File, setup func(*exec.Cmd)) string {
	t.Helper()
	argv := helper("args")
	direct := exec.Command(argv[0], argv[1:]...)
	direct.ExtraFiles = extra
	if setup != nil {
		setup(direct)
	}
	out, err := direct.Output()
	if err != nil {
		t.Fatalf("the args helper alone: %v", err)
	}
	return lineWith(strings.Split(string(out), "\n"), "fds ")
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
	want := directFDs(t, []*os.File{extra}, nil)
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

// The child gets exactly the descriptors initd was given, under several
// start conditions; initd adds none of its own (its signal pipes, /proc
// reads, the netpoller's epoll are all close-on-exec).
func TestNoLeakedDescriptors(t *testing.T) {
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
			want := directFDs(t, tt.o.extra, tt.o.setup)
			if fds := lineWith(p.Out(), "fds "); fds != want || want == "" {
				t.Errorf("child descriptors %q, want %q as without initd", fds, want)
			}
		})
	}
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

// credentials returns the lines of /proc/PID/status that describe its
// privileges.
func credentials(t *testing.T, pid int) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
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
func TestCredentials(t *testing.T) {
	requireNamespaces(t)
	check := func(t *testing.T, o runOpt, parent int) {
		p := start(t, o, "--", "/bin/sleep", "30")
		child := childOf(t, p.Pid())
		waitExec(t, child, "sleep")
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
		// The unprivileged user may not reach the directory initd was
		// built in: run a copy.
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
func TestNoNewPrivs(t *testing.T) {
	p := start(t, runOpt{setup: func(c *exec.Cmd) {
		c.Args = helper("nnp-exec", initdBin, "--", "/bin/sleep", "30")
		c.Path = c.Args[0]
	}})
	child := childOf(t, p.Pid())
	waitExec(t, child, "sleep")
	for _, pid := range []int{p.Pid(), child} {
		if c := credentials(t, pid); !strings.Contains(c, "NoNewPrivs: 1") {
			t.Errorf("pid %d lost no_new_privs:\n%s", pid, c)
		}
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
}
