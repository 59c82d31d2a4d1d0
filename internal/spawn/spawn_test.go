package spawn

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/procfs"
)

// The test binary re-executes itself to look at its own environment:
// SPAWN_TEST_ENVIRON is then set and the process prints what Environ
// returns instead of running the tests.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if kv == "SPAWN_TEST_ENVIRON=1" {
			for _, e := range Environ() {
				os.Stdout.WriteString(strconv.Quote(e) + "\n")
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func TestSplitEnviron(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"A=1\x00", []string{"A=1"}},
		{"A=1\x00PATH=/bin\x00A=2\x00NOEQUALS\x00B=\x00", []string{"A=1", "PATH=/bin", "A=2", "NOEQUALS", "B="}},
		{"A=1\x00\x00B=2\x00", []string{"A=1", "", "B=2"}},
		{"A=1\x00B=2", []string{"A=1", "B=2"}}, // no final NUL: an environment overwritten in place
		{"A=1\x00B", []string{"A=1", "B"}},
	} {
		if got := splitEnviron([]byte(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("splitEnviron(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Environ returns what the process was given, where os.Environ drops the
// second of two entries with one name.
func TestEnvironIsExact(t *testing.T) {
	env := []string{"A=1", "PATH=/usr/bin:/bin", "A=2", "NOEQUALS", "B=", "", "SPAWN_TEST_ENVIRON=1", "C=" + strings.Repeat("c", 10000)}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0]}, &os.ProcAttr{Env: env, Files: []*os.File{nil, w, os.Stderr}})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := readAllFile(r)
	p.Wait()
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		s, err := strconv.Unquote(l)
		if err != nil {
			t.Fatalf("bad line %q in %q", l, out)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, env) {
		t.Errorf("Environ() = %.200q\nwant %.200q", got, env)
	}
}

func readAllFile(f *os.File) ([]byte, error) {
	defer f.Close()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			return b, nil
		}
	}
}

// Without /proc, descriptors are found by probing up to the soft limit, so
// one far above 1023 is found too.
func TestProbeOpen(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	high := 3000
	if softNofile() <= high {
		t.Skipf("RLIMIT_NOFILE %d leaves no room for descriptor %d", softNofile(), high)
	}
	if err := unix.Dup2(int(f.Fd()), high); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(high)
	open := probeOpen(3, softNofile())
	for _, fd := range []int{int(f.Fd()), high} {
		if !slices.Contains(open, fd) {
			t.Errorf("probeOpen missed descriptor %d: %v", fd, open)
		}
	}
	if slices.Contains(open, high+1) || slices.Contains(open, 2) || slices.Contains(open, softNofile()) {
		t.Errorf("probeOpen listed a closed or out-of-range descriptor: %v", open)
	}
	// The listing agrees with /proc.
	if want, dirfd, err := procfs.Numbers("/proc/self/fd"); err == nil {
		want = slices.DeleteFunc(want, func(fd int) bool { return fd < 3 || fd == dirfd })
		slices.Sort(want)
		if !slices.Equal(open, want) {
			t.Errorf("probeOpen = %v, /proc/self/fd = %v", open, want)
		}
	}
}

func hex16(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

func TestListenPidIndex(t *testing.T) {
	self := "LISTEN_PID=" + strconv.Itoa(os.Getpid())
	one := -1 // LISTEN_PID=1 is ours only as PID 1
	if os.Getpid() == 1 {
		one = 0
	}
	for _, tt := range []struct {
		env  []string
		want int
	}{
		{nil, -1},
		{[]string{self}, 0},
		{[]string{"LISTEN_FDS=1", self}, 1},
		{[]string{"LISTEN_PID=1"}, one},
		{[]string{"LISTEN_PID=" + strconv.Itoa(os.Getpid()) + "0"}, -1},
		{[]string{"LISTEN_PID="}, -1},
		{[]string{"LISTEN_PID=1", self}, one}, // the first counts, as for getenv
		{[]string{"XLISTEN_PID=" + self[11:]}, -1},
	} {
		if got := listenPidIndex(tt.env); got != tt.want {
			t.Errorf("listenPidIndex(%q) = %d, want %d", tt.env, got, tt.want)
		}
	}
}

// wait collects the child pid, which the test process has to reap itself.
func wait(t *testing.T, pid int) syscall.WaitStatus {
	t.Helper()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			if err != nil {
				t.Fatal(err)
			}
			return ws
		}
	}
}

// raw forks c with one candidate and no LISTEN_PID to fill in.
func raw(t *testing.T, path string, argv, env []string) rawResult {
	t.Helper()
	res, errno := forkRaw(&rawChild{paths: []string{path}, argv: argv, env: env, listenPid: -1})
	if errno != 0 {
		t.Fatalf("forkRaw(%s): clone: %v", path, errno)
	}
	return res
}

// The raw fork starts a command, in a process group of its own, and
// reports a failed exec with the errno of execve.
func TestForkRaw(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s")
	os.WriteFile(script, []byte("#!/bin/sh\nexit \"$1\"\n"), 0o755)
	res := raw(t, script, []string{script, "7"}, []string{"PATH=/usr/bin:/bin"})
	if res.step != stepNone {
		t.Fatalf("forkRaw: step %d, errno %v", res.step, res.errno)
	}
	// Until it is reaped, even an exited child shows its group.
	if pgid, err := syscall.Getpgid(res.pid); err != nil || pgid != res.pid {
		t.Errorf("child %d is in process group %d (%v), want its own", res.pid, pgid, err)
	}
	if ws := wait(t, res.pid); ws.ExitStatus() != 7 {
		t.Errorf("child: %v, want exit 7", ws)
	}
	// The child gets the signal mask of the thread that forked, as from
	// syscall.ForkExec, not the all-blocked mask of the fork itself; cp,
	// unlike a shell, leaves the mask alone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var mask unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_SETMASK, nil, &mask)
	status := filepath.Join(dir, "status")
	res = raw(t, "/bin/cp", []string{"cp", "/proc/self/status", status}, nil)
	if res.step != stepNone {
		t.Fatalf("forkRaw: step %d, errno %v", res.step, res.errno)
	}
	wait(t, res.pid)
	b, _ := os.ReadFile(status)
	if want := "\nSigBlk:\t" + hex16(*(*uint64)(unsafe.Pointer(&mask.Val))) + "\n"; !strings.Contains(string(b), want) {
		t.Errorf("the child's status %q lacks %q", b, want)
	}
	for _, tt := range []struct {
		path  string
		errno syscall.Errno
	}{
		{filepath.Join(dir, "missing"), syscall.ENOENT},
		{dir, syscall.EACCES},
	} {
		if res := raw(t, tt.path, []string{tt.path}, nil); res.step != stepExec || !slices.Equal(res.tried, []syscall.Errno{tt.errno}) {
			t.Errorf("forkRaw(%s): step %d, tried %v; want %d, [%v]", tt.path, res.step, res.tried, stepExec, tt.errno)
		}
	}
}

// With several candidates the child tries them in order, goes on after
// the errors search goes on after, stops at any other, and the first that
// runs wins; it fills in LISTEN_PID with its own pid.
func TestForkRawCandidates(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("#!/bin/sh\necho \"$LISTEN_PID $$ $A\" >"+out+"\n"), 0o755)
	noexec := filepath.Join(dir, "noexec")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	binary := filepath.Join(dir, "binary")
	os.WriteFile(binary, []byte("\x7fELF garbage"), 0o755)
	missing := filepath.Join(dir, "missing")
	env := []string{"A=1", "LISTEN_PID=1", "B=2"}
	for _, tt := range []struct {
		name  string
		paths []string
		step  int
		tried []syscall.Errno
	}{
		{"missing, denied, then good", []string{missing, noexec, good, binary}, stepNone, nil},
		{"stops at ENOEXEC", []string{missing, binary, good}, stepExec, []syscall.Errno{syscall.ENOENT, syscall.ENOEXEC}},
		{"none runs", []string{missing, noexec}, stepExec, []syscall.Errno{syscall.ENOENT, syscall.EACCES}},
	} {
		os.Remove(out)
		res, errno := forkRaw(&rawChild{paths: tt.paths, argv: []string{"x"}, env: env, listenPid: 1})
		if errno != 0 || res.step != tt.step || !slices.Equal(res.tried, tt.tried) {
			t.Errorf("%s: clone %v, step %d, tried %v; want step %d, tried %v", tt.name, errno, res.step, res.tried, tt.step, tt.tried)
			continue
		}
		if res.step != stepNone {
			continue
		}
		wait(t, res.pid)
		b, _ := os.ReadFile(out)
		if want := strconv.Itoa(res.pid) + " " + strconv.Itoa(res.pid) + " 1\n"; string(b) != want {
			t.Errorf("%s: the child printed %q, want %q (LISTEN_PID, its pid, A)", tt.name, b, want)
		}
	}
	// The parent's copy of the environment is untouched.
	if env[1] != "LISTEN_PID=1" {
		t.Errorf("the parent's environment changed: %q", env)
	}
}

// Start searches PATH like execvp: a script whose interpreter is missing
// does not hide a good one later in PATH.
func TestStartSearchesOn(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"p1", "p2"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "p1", "foo"), []byte("#!/no/such/interpreter\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "p2", "foo"), []byte("#!/bin/sh\nexit 7\n"), 0o755)
	env := []string{"PATH=" + filepath.Join(dir, "p1") + ":" + filepath.Join(dir, "p2")}
	pid, pidfd, err := Start([]string{"foo"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if pidfd >= 0 {
		syscall.Close(pidfd)
	}
	if ws := wait(t, pid); ws.ExitStatus() != 7 {
		t.Errorf("child: %v, want exit 7 from p2/foo", ws)
	}
	env = env[:0:0]
	env = append(env, "PATH="+filepath.Join(dir, "p1"))
	_, _, err = Start([]string{"foo"}, env)
	if err == nil || err.Code != 126 || !strings.Contains(err.Msg, "bad interpreter") {
		t.Errorf("only p1/foo: %v, want 126 bad interpreter", err)
	}
}

// At a descriptor limit that leaves no room for ForkExec's pipe, Start
// still starts the command, without a pidfd. The limit is set in a child
// of the test: lowering it in the test process would starve the tests.
func TestStartAtLowDescriptorLimit(t *testing.T) {
	if os.Getenv("SPAWN_TEST_LOW_NOFILE") == "" {
		for _, n := range []string{"4", "5", "64"} {
			out, err := runSelf(t, "SPAWN_TEST_LOW_NOFILE="+n, "-test.run=^TestStartAtLowDescriptorLimit$")
			if err != nil || !strings.Contains(out, "started exit 3 pidfd -1") {
				t.Errorf("RLIMIT_NOFILE %s: %v\n%s", n, err, out)
			}
		}
		return
	}
	n, _ := strconv.ParseUint(os.Getenv("SPAWN_TEST_LOW_NOFILE"), 10, 64)
	lim := syscall.Rlimit{Cur: n, Max: n}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fds []int
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fds = append(fds, fd)
	}
	// One descriptor is left, for the dynamic loader of the child: neither
	// ForkExec's pipe nor a pipe and a pidfd fit.
	if len(fds) > 0 {
		syscall.Close(fds[len(fds)-1])
		fds = fds[:len(fds)-1]
	}
	pid, pidfd, err := Start([]string{"/bin/sh", "-c", "exit 3"}, []string{"PATH=/bin"})
	for _, fd := range fds {
		syscall.Close(fd)
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("started exit " + strconv.Itoa(wait(t, pid).ExitStatus()) + " pidfd " + strconv.Itoa(pidfd) + "\n")
}

func runSelf(t *testing.T, env string, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(os.Args[0], append([]string{os.Args[0]}, args...), &os.ProcAttr{Env: append(os.Environ(), env), Files: []*os.File{nil, w, w}})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := readAllFile(r)
	st, err := p.Wait()
	if err == nil && !st.Success() {
		err = &os.SyscallError{Syscall: "child", Err: syscall.Errno(st.ExitCode())}
	}
	return string(out), err
}

// withoutCap runs f on a thread without capability c in its effective
// set: a fork from that thread has it neither.
func withoutCap(t *testing.T, c int, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data, saved [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	saved = data
	data[c/32].Effective &^= 1 << (c % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	defer unix.Capset(&hdr, &saved[0])
	f()
}

// The raw fork sets the groups, the gid and the uid before the exec, and
// reports the step that failed; the command never runs then.
func TestForkRawCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change ids")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	out := filepath.Join(dir, "out")
	argv := []string{"sh", "-c", "grep -E '^(Uid|Gid|Groups):' /proc/self/status >" + out}
	cred := &syscall.Credential{Uid: 4242, Gid: 4343, Groups: []uint32{4343, 50}}
	run := func() rawResult {
		t.Helper()
		res, errno := forkRaw(&rawChild{paths: []string{"/bin/sh"}, argv: argv, listenPid: -1, cred: cred})
		if errno != 0 {
			t.Fatalf("clone: %v", errno)
		}
		if res.step == stepNone {
			wait(t, res.pid)
		}
		return res
	}
	// t.TempDir's parent is not for others to enter.
	os.Chmod(filepath.Dir(dir), 0o755)
	if res := run(); res.step != stepNone {
		t.Fatalf("step %d, errno %v", res.step, res.errno)
	}
	b, _ := os.ReadFile(out)
	got := strings.Join(strings.Fields(string(b)), " ")
	if want := "Uid: 4242 4242 4242 4242 Gid: 4343 4343 4343 4343 Groups: 50 4343"; got != want {
		t.Errorf("the child's ids: %q, want %q", got, want)
	}
	os.Remove(out)
	for _, tt := range []struct {
		cap  int
		step int
	}{
		{unix.CAP_SETGID, stepSetgroups},
		{unix.CAP_SETUID, stepSetuid},
	} {
		withoutCap(t, tt.cap, func() {
			if res := run(); res.step != tt.step || res.errno != syscall.EPERM {
				t.Errorf("without capability %d: step %d, errno %v; want %d, EPERM", tt.cap, res.step, res.errno, tt.step)
			}
		})
		if _, err := os.Stat(out); err == nil {
			t.Errorf("without capability %d the command ran", tt.cap)
		}
	}
}
