package main

// The integration tests run the real initd binary, usually as PID 1 of a
// new PID namespace, and send it real signals from outside. The test binary
// plays every child: TestMain sets INITD_TEST_HELPER once, every process
// started from the tests inherits it, and a test binary started with it
// runs the helper its first argument names instead of the tests (the
// helper-process pattern of os/exec's tests). So the tests need nothing
// installed but /bin/sh.
//
// The binary under test is the one "make build" made, never a build of the
// tests' own, so that the tests exercise the shipped flags: INITD_BIN
// names it ("make test" sets it), or TestMain runs "make build" itself.

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/initdbin"
	"github.com/initd/initd/internal/sigclean"
)

const (
	// helperEnv, when set, makes the test binary a helper.
	helperEnv = "INITD_TEST_HELPER"
	// usedEnv names a directory where every helper that runs leaves a
	// file of its name, so that a helper started by another helper
	// counts as used too.
	usedEnv = "INITD_TEST_HELPERS_USED"
)

var initdBin string

func TestMain(m *testing.M) {
	if os.Getenv("INITD_TEST_PID1") == "1" {
		os.Unsetenv("INITD_TEST_PID1")
		pid1Wrapper()
	}
	if os.Getenv(helperEnv) != "" {
		runHelper(os.Args[1:])
		os.Exit(0)
	}
	// initd and the helpers start with every signal at its default and
	// none blocked, whatever started the tests (under nohup, initd would
	// rightly keep the inherited SIGHUP ignore; see package sigclean).
	sigclean.Launcher()
	bin, err := initdbin.Path()
	if err != nil {
		fmt.Fprintln(os.Stderr, "initd tests:", err)
		os.Exit(1)
	}
	initdBin = bin
	used, err := os.MkdirTemp("", "initd-test-helpers")
	if err != nil {
		fmt.Fprintln(os.Stderr, "initd tests:", err)
		os.Exit(1)
	}
	os.Setenv(helperEnv, "1")
	os.Setenv(usedEnv, used)
	code := m.Run()
	if code == 0 && wholePackageRan() {
		for _, name := range unusedHelpers(used) {
			fmt.Fprintf(os.Stderr, "helper %q is registered but no test used it\n", name)
			code = 1
		}
	}
	os.RemoveAll(used)
	os.Exit(code)
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

// skipped records that a test skipped for want of something the machine
// lacks; the run then says nothing about unused helpers.
var skipped atomic.Bool

// skip skips t with why, unless INITD_STRICT_TESTS=1 (set in CI, which
// runs as root and must run everything) makes that a failure.
func skip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("INITD_STRICT_TESTS") == "1" {
		t.Fatal(why)
	}
	skipped.Store(true)
	t.Skip(why)
}

// requireNamespaces skips a test that needs namespaces when they are
// unavailable.
func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root to create PID namespaces (CLONE_NEWPID); run the tests as root")
	}
}

// The helpers. Each is registered from an init function of the file whose
// tests use it, and prints what those tests need to see on stdout.

var (
	helpers    = map[string]func(args []string){}
	helperUsed sync.Map // name → true, in the test process
)

// registerHelper adds helper name from an init function of the file whose
// tests use it.
func registerHelper(name string, f func(args []string)) {
	if _, dup := helpers[name]; dup {
		panic("helper " + name + " registered twice")
	}
	helpers[name] = f
}

// helper returns the argv that makes the test binary play helper name.
// An unregistered name is a mistake in the test, not in initd: it panics,
// which fails the running test at once instead of leaving a child that
// exits with "unknown helper" for the test to misread.
func helper(name string, args ...string) []string {
	if helpers[name] == nil {
		panic(fmt.Sprintf("helper(%q): no such helper; registerHelper it from an init function", name))
	}
	helperUsed.Store(name, true)
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{exe, "-helper=" + name}, args...)
}

func runHelper(args []string) {
	name, ok := strings.CutPrefix(firstArg(args), "-helper=")
	f := helpers[name]
	if !ok || f == nil {
		fmt.Fprintf(os.Stderr, "%s=%s but no known helper in %q\n", helperEnv, os.Getenv(helperEnv), args)
		os.Exit(99)
	}
	if dir := os.Getenv(usedEnv); dir != "" {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	f(args[1:])
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// wholePackageRan reports whether every test ran, so that a helper no test
// used means that its test is gone or no longer uses it.
func wholePackageRan() bool {
	for _, f := range []string{"test.run", "test.skip", "test.list"} {
		if fl := flag.Lookup(f); fl != nil && fl.Value.String() != "" {
			return false
		}
	}
	return !testing.Short() && !skipped.Load()
}

func unusedHelpers(dir string) []string {
	var out []string
	for name := range helpers {
		if _, ok := helperUsed.Load(name); !ok && !exists(filepath.Join(dir, name)) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func init() {
	registerHelper("record", record)
}

// record prints "ROLE ready PID PGRP FOREGROUND", then "ROLE got SIGNAME"
// for every signal it receives, and exits 0 once it has received the exit
// signal (the first argument). Further arguments are roles of children to
// start in the same process group first.
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
		argv := helper("record", kid, exitSig)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
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
			// The helpers below initd hold its stdout: kill them too, or a
			// test whose rule broke would hang here instead of failing.
			kids := descendants(cmd.Process.Pid)
			cmd.Process.Kill()
			for _, k := range kids {
				syscall.Kill(k, syscall.SIGKILL)
			}
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Errorf("initd's stdout still open 10 s after initd was killed: processes escaped its tree")
				stdout.Close()
				<-p.done
			}
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

// exited reports whether initd has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// expect waits for a future stdout line containing s and returns it. For
// free text, such as a shell's; a helper's lines are events.
func (p *proc) expect(s string) string {
	p.t.Helper()
	l, ok := p.next(func(l string) bool { return strings.Contains(l, s) })
	if !ok {
		p.t.Fatalf("no line containing %q within 20s", s)
	}
	return l
}

func (p *proc) next(match func(string) bool) (string, bool) {
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if match(l) {
				return l, true
			}
		case <-deadline:
			return "", false
		}
	}
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

// An event is a helper's line, "ROLE EVENT ARG...": "child got SIGTERM",
// "grandchild ready 12 12 -1", "reaped 12 137". Events match word by word
// and never by substring, so role "child" is never "grandchild" and
// SIGRTMIN+3 is never SIGRTMIN+30; trailing arguments the test does not
// name match anything.
func isEvent(line, role, event string, args []string) bool {
	f := strings.Fields(line)
	if len(f) < 2+len(args) || f[0] != role || f[1] != event {
		return false
	}
	for i, a := range args {
		if f[2+i] != a {
			return false
		}
	}
	return true
}

// The tests' "which process got what" rests on isEvent never matching part
// of a word.
func TestEventsMatchWholeWords(t *testing.T) {
	for _, tt := range []struct {
		line, role, event string
		args              []string
		want              bool
	}{
		{"child got SIGTERM", "child", "got", []string{"SIGTERM"}, true},
		{"grandchild got SIGTERM", "child", "got", []string{"SIGTERM"}, false},
		{"child got SIGTERM", "grandchild", "got", []string{"SIGTERM"}, false},
		{"child got SIGRTMIN+30", "child", "got", []string{"SIGRTMIN+3"}, false},
		{"child ready 12 12 -1", "child", "ready", nil, true},
		{"child ready", "child", "ready", []string{"12"}, false},
		{"child readying 12", "child", "ready", nil, false},
		{"  child  got   SIGINT ", "child", "got", []string{"SIGINT"}, true},
	} {
		if got := isEvent(tt.line, tt.role, tt.event, tt.args); got != tt.want {
			t.Errorf("isEvent(%q, %q, %q, %q) = %v, want %v", tt.line, tt.role, tt.event, tt.args, got, tt.want)
		}
	}
}

func eventString(role, event string, args []string) string {
	return strings.Join(append([]string{role, event}, args...), " ")
}

// expectEvent waits for a future event and returns its fields.
func (p *proc) expectEvent(role, event string, args ...string) []string {
	p.t.Helper()
	l, ok := p.next(func(l string) bool { return isEvent(l, role, event, args) })
	if !ok {
		p.t.Fatalf("no event %q within 20s", eventString(role, event, args))
	}
	return strings.Fields(l)
}

// sawEvent waits for an event, past or future, and returns its fields.
func (p *proc) sawEvent(role, event string, args ...string) []string {
	p.t.Helper()
	var f []string
	if !waitFor(func() bool { f = p.event(role, event, args...); return f != nil }) {
		p.t.Fatalf("no event %q within 10s", eventString(role, event, args))
	}
	return f
}

// hasEvent reports whether the event has been seen so far.
func (p *proc) hasEvent(role, event string, args ...string) bool {
	return p.event(role, event, args...) != nil
}

func (p *proc) event(role, event string, args ...string) []string {
	for _, l := range p.Out() {
		if isEvent(l, role, event, args) {
			return strings.Fields(l)
		}
	}
	return nil
}

// countEvent counts the events so far.
func (p *proc) countEvent(role, event string, args ...string) int {
	n := 0
	for _, l := range p.Out() {
		if isEvent(l, role, event, args) {
			n++
		}
	}
	return n
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

// run starts initd, waits for it and returns its exit code.
func run(t *testing.T, o runOpt, args ...string) (int, *proc) {
	t.Helper()
	p := start(t, o, args...)
	return p.wait(30 * time.Second), p
}

var pid1 = runOpt{pid1: true}

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

// zombies counts zombie children of pid, as /proc/CHILD/status shows
// them. Not stat: it reads the state before the parent, so a zombie of an
// exiting child, re-parented to initd and released by the kernel in one
// step between the two reads, would pass for a zombie of initd's.
func zombies(pid int) int {
	n := 0
	for _, c := range descendants(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/status")
		if err == nil && strings.Contains(string(b), "\nState:\tZ") && strings.Contains(string(b), "\nPPid:\t"+strconv.Itoa(pid)+"\n") {
			n++
		}
	}
	return n
}

// childOf waits for initd's first child to appear and returns its host pid.
func childOf(t *testing.T, initd int) int {
	t.Helper()
	var pid int
	if !waitFor(func() bool {
		for _, c := range descendants(initd) {
			if st, ok := stat(c); ok && st.ppid == initd {
				pid = c
				return true
			}
		}
		return false
	}) {
		t.Fatal("initd has no child")
	}
	return pid
}

// waitExec waits until pid runs the program named comm: it has passed its
// exec, so what /proc shows of it is final.
func waitExec(t *testing.T, pid int, comm string) {
	t.Helper()
	if !waitFor(func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return err == nil && strings.TrimSpace(string(b)) == comm
	}) {
		t.Fatalf("pid %d never ran %s", pid, comm)
	}
}

func waitState(t *testing.T, pid int, want byte) {
	t.Helper()
	if !waitFor(func() bool { st, ok := stat(pid); return ok && st.state == want }) {
		st, _ := stat(pid)
		t.Fatalf("pid %d in state %c, want %c", pid, st.state, want)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(cond func() bool) bool {
	for i := 0; i < 400; i++ {
		if cond() {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

// fieldInt returns field i of line as an integer.
func fieldInt(t *testing.T, line string, i int) int {
	t.Helper()
	f := strings.Fields(line)
	if len(f) <= i {
		t.Fatalf("line %q has no field %d", line, i)
	}
	n, err := strconv.Atoi(f[i])
	if err != nil {
		t.Fatalf("line %q field %d: %v", line, i, err)
	}
	return n
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sigName(s syscall.Signal) string {
	name := map[syscall.Signal]string{37: "SIGRTMIN+3", 64: "SIGRTMAX"}[s]
	if name == "" {
		name = "SIG" + strings.ToUpper(unix.SignalName(s)[3:])
	}
	return name
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func lineWith(lines []string, prefix string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// rss is pid's resident set in kB.
func rss(t *testing.T, pid int) int {
	t.Helper()
	for _, l := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
