package main

// The integration tests run the real initd binary, usually as PID 1 of a
// new PID namespace, and send it real signals from outside. The test binary
// plays every child: when INITD_TEST_HELPER is set it runs one of the
// helpers below instead of the tests (the helper-process pattern of
// os/exec's tests), so the tests need nothing installed but /bin/sh.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/forward"
)

// initdBin is the binary "make build" made, never a build of the tests'
// own, so that the tests exercise the shipped flags.
var initdBin string

func TestMain(m *testing.M) {
	if os.Getenv("INITD_TEST_PID1") == "1" {
		os.Unsetenv("INITD_TEST_PID1")
		pid1Wrapper()
	}
	if name := os.Getenv("INITD_TEST_HELPER"); name != "" {
		runHelper(name, os.Args[1:])
		os.Exit(0)
	}
	bin, err := initdBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "initd tests:", err)
		os.Exit(1)
	}
	initdBin = bin
	os.Exit(m.Run())
}

// initdBinary returns INITD_BIN ("make test" sets it), or builds the
// binary with the Makefile so that there is only one recipe for it.
func initdBinary() (string, error) {
	if bin := os.Getenv("INITD_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("INITD_BIN=%s is not an executable file (%v); run \"make build\" or unset INITD_BIN", bin, err)
		}
		return abs, nil
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		return "", fmt.Errorf("INITD_BIN is unset and there is no Makefile at %s to build initd with: %v", root, err)
	}
	out, err := exec.Command("make", "-s", "-C", root, "build").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("INITD_BIN is unset and \"make -s -C %s build\" failed: %v\n%s", root, err, out)
	}
	return filepath.Join(root, "bin", "initd"), nil
}

// pid1Wrapper runs as PID 1 of a new PID and mount namespace: it mounts a
// /proc of the namespace, as a container runtime would, and becomes initd.
func pid1Wrapper() {
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "pid1 wrapper:", err)
			os.Exit(120)
		}
	}
	must(unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""))
	must(unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""))
	must(syscall.Exec(os.Args[1], os.Args[1:], os.Environ()))
}

// requireRoot skips a test that needs namespaces when they are unavailable,
// unless INITD_STRICT_TESTS=1 (set in CI, which runs as root) makes that a
// failure.
func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "needs root to create PID namespaces (CLONE_NEWPID); run the tests as root"
	if os.Getenv("INITD_STRICT_TESTS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// helper returns the argv that makes the test binary play helper name.
func helper(name string, args ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{exe, "-helper=" + name}, args...)
}

// proc is a running initd.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	out    []string // every stdout line so far
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

type runOpt struct {
	pid1  bool
	env   []string
	dir   string
	extra []*os.File
	setup func(*exec.Cmd)
}

// start runs initd with args; the child's stdout is read line by line.
func start(t *testing.T, o runOpt, args ...string) *proc {
	t.Helper()
	argv := append([]string{initdBin}, args...)
	var cmd *exec.Cmd
	if o.pid1 {
		requireNamespaces(t)
		self, _ := os.Executable()
		cmd = exec.Command(self, argv...)
		cmd.Env = append(os.Environ(), "INITD_TEST_PID1=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	} else {
		cmd = exec.Command(initdBin, args...)
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "INITD_TEST_HELPER=1")
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Dir = o.dir
	cmd.ExtraFiles = o.extra
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 100000), done: make(chan struct{})}
	cmd.Stderr = &syncWriter{w: &p.stderr, mu: &p.mu}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if o.setup != nil {
		o.setup(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("initd stderr:\n%s", p.Stderr())
			t.Logf("stdout:\n%s", strings.Join(p.Out(), "\n"))
		}
	})
	return p
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (p *proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) Out() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// Pid is initd's pid as seen from the test.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// expect waits for a stdout line containing s and returns it.
func (p *proc) expect(s string) string {
	p.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, s) {
				return l
			}
		case <-deadline:
			p.t.Fatalf("no line containing %q within 20s", s)
		}
	}
}

// signal sends sig to initd from outside.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.Pid(), sig); err != nil {
		p.t.Fatalf("kill %d %v: %v", p.Pid(), sig, err)
	}
}

// wait returns initd's exit code; initd must exit within limit.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("initd still running after %v", limit)
	}
	return p.cmd.ProcessState.ExitCode()
}

// saw waits for any stdout line, past or future, containing s.
func (p *proc) saw(s string) {
	p.t.Helper()
	if !waitFor(func() bool { return p.has(s) }) {
		p.t.Fatalf("no line containing %q within 10s", s)
	}
}

// has reports whether any stdout line so far contains s.
func (p *proc) has(s string) bool {
	for _, l := range p.Out() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// run starts initd, waits for it and returns its exit code.
func run(t *testing.T, o runOpt, args ...string) (int, *proc) {
	t.Helper()
	p := start(t, o, args...)
	return p.wait(30 * time.Second), p
}

// descendants lists the pids below root, depth first, from the host's /proc.
func descendants(root int) []int {
	children := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if st, ok := stat(pid); ok {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(root)
	return out
}

type procStat struct {
	state      byte
	ppid, pgid int
}

func stat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	return procStat{f[0][0], ppid, pgid}, true
}

// zombies counts zombie children of pid.
func zombies(pid int) int {
	n := 0
	for _, c := range descendants(pid) {
		if st, ok := stat(c); ok && st.state == 'Z' && st.ppid == pid {
			n++
		}
	}
	return n
}

// The helpers. Each prints what the test needs to see on stdout.

// moreHelpers lets other test files add helpers from an init function.
var moreHelpers = map[string]func(args []string){}

// registerHelper adds helper name from an init function of the file whose
// tests use it.
func registerHelper(name string, f func(args []string)) {
	if _, dup := moreHelpers[name]; dup {
		panic("helper " + name + " registered twice")
	}
	moreHelpers[name] = f
}

func runHelper(_ string, args []string) {
	name := strings.TrimPrefix(args[0], "-helper=")
	args = args[1:]
	switch name {
	case "exit":
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	case "record":
		record(args)
	case "args":
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
	case "leave-group":
		// Start a grandchild in a group of its own, then move into that
		// group, leaving the group initd signals empty.
		cmd := exec.Command(os.Args[0], "-helper=record", "grandchild", "TERM")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Println("cannot start grandchild", err)
			os.Exit(1)
		}
		if err := syscall.Setpgid(0, cmd.Process.Pid); err != nil {
			fmt.Println("setpgid:", err)
			os.Exit(1)
		}
		fmt.Printf("moved %d\n", os.Getpid())
		time.Sleep(time.Hour)
	case "sigmask-exec":
		// Start the rest of the command with SIGUSR1 blocked, as a
		// caller that blocked it before exec would.
		runtime.LockOSThread()
		var set unix.Sigset_t
		set.Val[0] = 1 << (syscall.SIGUSR1 - 1)
		unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
		syscall.Exec(args[0], args, os.Environ())
	default:
		if h := moreHelpers[name]; h != nil {
			h(args)
			return
		}
		fmt.Fprintln(os.Stderr, "unknown helper", name)
		os.Exit(99)
	}
}

// record prints "ROLE ready PID PGRP", then "ROLE got SIGNAME" for every
// signal it receives, and exits 0 once it has received the exit signal (the
// first argument). Further arguments are roles of children to start in the
// same process group first.
func record(args []string) {
	role, exitSig := args[0], args[1]
	want, _ := forward.Parse(exitSig)
	c := make(chan os.Signal, 1000)
	for n := syscall.Signal(1); n < forward.NSig; n++ {
		switch forward.ClassOf(n) {
		case forward.Forwarded, forward.Dropped, forward.Preempt:
			signal.Notify(c, n)
		}
	}
	for _, kid := range args[2:] {
		cmd := exec.Command(os.Args[0], "-helper=record", kid, exitSig)
		cmd.Stdout = os.Stdout
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Println(role, "cannot start", kid, err)
		}
	}
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil {
		fg = -1
	}
	fmt.Printf("%s ready %d %d %d\n", role, os.Getpid(), syscall.Getpgrp(), fg)
	for s := range c {
		sig := s.(syscall.Signal)
		fmt.Printf("%s got %s\n", role, forward.Name(sig))
		if sig == want {
			os.Exit(0)
		}
	}
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
