package main

// Tests of how initd starts its child (package spawn): the environment,
// descriptors, limits and signal state the child gets, PATH search, socket
// activation, and the errors of a spawn that fails.
//
// Most need initd started in a state that exec.Cmd cannot set up (a raw
// environment with duplicates, a descriptor limit, a signal mask, a pid in
// LISTEN_PID that is initd's own, no /proc). The launcher helper sets that
// up in its own process and then executes initd, keeping its pid.

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	registerHelper("spawn-launch", spawnLaunch)
	registerHelper("spawn-report", spawnReport)
}

// spawnLaunch applies its options, then executes the argv after "--":
//
//	nofile=N       RLIMIT_NOFILE soft and hard N
//	block=all      block every signal
//	ignore=all     set every signal to SIG_IGN
//	env=E          the environment, exactly: entries joined by "\x1e"
//	listen-pid     LISTEN_PID set to the launcher's pid (initd's, after exec)
//	noproc         hide /proc under an empty tmpfs (only in a mount namespace of its own)
//	dup=FROM:TO    dup2 FROM to TO, without close-on-exec
func spawnLaunch(args []string) {
	i := slices.Index(args, "--")
	opts, argv := args[:i], args[i+1:]
	env := os.Environ()
	die := func(what string, err error) {
		os.Stderr.WriteString("spawn-launch: " + what + ": " + err.Error() + "\n")
		os.Exit(121)
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "nofile":
			n, _ := strconv.ParseUint(v, 10, 64)
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				die(o, err)
			}
		case "block":
			var all unix.Sigset_t
			for i := range all.Val {
				all.Val[i] = ^uint64(0)
			}
			// exec keeps the mask of the calling thread.
			runtime.LockOSThread()
			unix.PthreadSigmask(unix.SIG_SETMASK, &all, nil)
		case "ignore":
			for sig := 1; sig < 65; sig++ {
				setIgnore(sig)
			}
		case "env":
			env = strings.Split(v, "\x1e")
		case "listen-pid":
			env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "LISTEN_PID=") })
			env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
		case "noproc":
			if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, "size=4k"); err != nil {
				die(o, err)
			}
		case "dup":
			from, to, _ := strings.Cut(v, ":")
			f, _ := strconv.Atoi(from)
			t, _ := strconv.Atoi(to)
			if err := unix.Dup2(f, t); err != nil {
				die(o, err)
			}
		default:
			die(o, syscall.EINVAL)
		}
	}
	die("exec", syscall.Exec(argv[0], argv, env))
}

// setIgnore sets sig to SIG_IGN with a raw rt_sigaction, underneath the Go
// runtime of the launcher, which is about to be replaced by exec anyway.
func setIgnore(sig int) {
	act := struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}{handler: 1} // SIG_IGN
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

// spawnReport prints what the child was given: "pid N", "LISTEN_PID=..."
// and the other LISTEN_ variables, "nofile CUR MAX", "fd N LINE" for each
// descriptor number in its arguments (the first line read from it), with
// the argument "environ" "env QUOTED" for each entry of its environment as
// the kernel holds it, then "report done". With the argument "wait" it
// then waits for SIGTERM.
func spawnReport(args []string) {
	out := bufio.NewWriter(os.Stdout)
	out.WriteString("pid " + strconv.Itoa(os.Getpid()) + "\n")
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		v, ok := os.LookupEnv(k)
		if ok {
			out.WriteString(k + "=" + v + "\n")
		}
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	out.WriteString("nofile " + strconv.FormatUint(lim.Cur, 10) + " " + strconv.FormatUint(lim.Max, 10) + "\n")
	wait := false
	for _, a := range args {
		switch a {
		case "wait":
			wait = true
			continue
		case "environ":
			b, err := os.ReadFile("/proc/self/environ")
			if err != nil {
				out.WriteString("environ error " + err.Error() + "\n")
			}
			for _, kv := range strings.SplitAfter(string(b), "\x00") {
				if kv != "" {
					out.WriteString("env " + strconv.Quote(strings.TrimSuffix(kv, "\x00")) + "\n")
				}
			}
			continue
		}
		fd, _ := strconv.Atoi(a)
		buf := make([]byte, 64)
		n, err := syscall.Read(fd, buf)
		if err != nil {
			out.WriteString("fd " + a + " error " + err.Error() + "\n")
			continue
		}
		line, _, _ := strings.Cut(string(buf[:max(n, 0)]), "\n")
		out.WriteString("fd " + a + " " + line + "\n")
	}
	out.WriteString("report done\n")
	out.Flush()
	if wait {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
	}
}

// launch makes o start initd through the launcher with opts.
func launch(o runOpt, opts ...string) runOpt { return launchVia(o, "spawn-launch", opts) }

// launchVia makes o start initd through the helper launcher with opts:
// the launcher's command line goes in front of initd's, after whatever
// setups before it put there.
func launchVia(o runOpt, launcher string, opts []string) runOpt {
	prev := o.setup
	o.setup = func(cmd *exec.Cmd) {
		if prev != nil {
			prev(cmd)
		}
		i := slices.Index(cmd.Args, initdBin)
		l := append(helper(launcher, opts...), "--")
		args := append(append(append([]string(nil), cmd.Args[:i]...), l...), cmd.Args[i:]...)
		if i == 0 {
			cmd.Path = l[0]
		}
		cmd.Args = args
	}
	return o
}

// prefixed returns the lines of out that start with prefix, without it.
func prefixed(out []string, prefix string) []string {
	var r []string
	for _, l := range out {
		if s, ok := strings.CutPrefix(l, prefix); ok {
			r = append(r, s)
		}
	}
	return r
}

// fdLinks lists the descriptors of process pid with their targets, from
// the test's own /proc.
func fdLinks(t *testing.T, pid int) map[int]string {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]string{}
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		m[fd], _ = os.Readlink(filepath.Join(dir, e.Name()))
	}
	return m
}

// closedIn waits until process pid holds none of fds, and reports whether
// that happened within 10 seconds.
func closedIn(t *testing.T, pid int, fds ...int) bool {
	t.Helper()
	for i := 0; i < 400; i++ {
		m := fdLinks(t, pid)
		if !slices.ContainsFunc(fds, func(fd int) bool { _, ok := m[fd]; return ok }) {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

func bothModes(t *testing.T, f func(t *testing.T, o runOpt)) {
	t.Run("pid1", func(t *testing.T) { f(t, runOpt{pid1: true}) })
	t.Run("not-pid1", func(t *testing.T) { f(t, runOpt{}) })
}

// A descriptor limit of 4 leaves the spawn only descriptor 3, not enough
// for syscall.ForkExec's pipe: the child still runs, with the limit initd
// was given. Lower limits work too for a child that needs no descriptor to
// start: a static binary (initd itself, printing its version). A
// dynamically linked one needs one for its C library, under the C inits
// too.
func TestSpawnLowDescriptorLimit(t *testing.T) {
	bothModes(t, func(t *testing.T, o runOpt) {
		for _, n := range []string{"4", "0", "3", "5", "6"} {
			code, p := run(t, launch(o, "nofile="+n), "--", initdBin, "--version")
			if code != 0 || len(p.Out()) != 1 || !strings.HasPrefix(p.Out()[0], "initd version ") {
				t.Errorf("RLIMIT_NOFILE %s, a static child: status %d, stdout %q, stderr %q", n, code, p.Out(), p.Stderr())
			}
			if n < "4" {
				continue
			}
			// Soft and hard limit, without a pipe the limit has no room for.
			code, p = run(t, launch(o, "nofile="+n), "--", "/bin/sh", "-c", "ulimit -Sn; ulimit -Hn")
			if want := []string{n, n}; code != 0 || !slices.Equal(p.Out(), want) {
				t.Errorf("RLIMIT_NOFILE %s, /bin/sh: status %d, stdout %q, stderr %q; want %q", n, code, p.Out(), p.Stderr(), want)
			}
		}
	})
}

// The runtime keeps no cgroup file open: the linked GODEBUG switches the
// cgroup-aware GOMAXPROCS off, which initd sets itself.
func TestSpawnNoCgroupDescriptors(t *testing.T) {
	p := start(t, runOpt{pid1: true}, append([]string{"--"}, helper("spawn-report", "wait")...)...)
	p.saw("report done")
	for fd, target := range fdLinks(t, p.Pid()) {
		if strings.Contains(target, "cgroup") {
			t.Errorf("initd holds descriptor %d on %s", fd, target)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("status %d after SIGTERM, stderr %q", code, p.Stderr())
	}
}

// PATH is searched as execvp searches it, and when nothing runs the error
// is the most telling one. Where the same tree can be given to env(1),
// which uses execvp, the outcome must agree with it.
func TestSpawnPathSearchLikeExecvp(t *testing.T) {
	type file struct {
		dir, body string
		mode      os.FileMode
	}
	const good = "#!/bin/sh\necho \"ran $0\"\nexit 7\n"
	for _, tt := range []struct {
		name   string
		files  []file
		code   int
		stdout string // "ran DIR/foo" expected, or ""
		msg    string
		envToo bool // env(1) must give the same status
	}{
		{"missing interpreter, then a good one", []file{{"p1", "#!/no/such/interpreter\n", 0o755}, {"p2", good, 0o755}}, 7, "p2", "", true},
		{"not executable, then a good one", []file{{"p1", good, 0o644}, {"p2", good, 0o755}}, 7, "p2", "", true},
		{"a directory, then a good one", []file{{"p1", "", os.ModeDir | 0o755}, {"p2", good, 0o755}}, 7, "p2", "", true},
		{"a good one first", []file{{"p1", good, 0o755}, {"p2", good, 0o755}}, 7, "p1", "", true},
		{"only a missing interpreter", []file{{"p2", "#!/no/such/interpreter\n", 0o755}}, 126, "", `p2/foo: cannot execute: bad interpreter "/no/such/interpreter": no such file`, false},
		{"only a CRLF interpreter", []file{{"p1", "#!/bin/sh\r\necho\r\n", 0o755}}, 126, "", "p1/foo: cannot execute: bad interpreter \"/bin/sh\": the #! line ends with CRLF", false},
		{"permission beats a missing interpreter", []file{{"p1", "#!/no/such/interpreter\n", 0o755}, {"p2", good, 0o644}}, 126, "", "p2/foo: cannot execute: permission denied (not executable)", true},
		{"a directory only", []file{{"p2", "", os.ModeDir | 0o755}}, 126, "", "p2/foo: cannot execute: is a directory", true},
		{"nothing", nil, 127, "", "initd: foo: not found in PATH", true},
		// execvp would run it with /bin/sh; initd reports it instead.
		{"no #! line stops the search", []file{{"p1", "echo\n", 0o755}, {"p2", good, 0o755}}, 126, "", "p1/foo: cannot execute: not a binary for this machine and no #! line", false},
	} {
		dir := t.TempDir()
		for _, f := range tt.files {
			p := filepath.Join(dir, f.dir, "foo")
			os.MkdirAll(filepath.Dir(p), 0o755)
			if f.mode.IsDir() {
				os.Mkdir(p, 0o755)
			} else if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
				t.Fatal(err)
			}
		}
		path := "PATH=" + filepath.Join(dir, "p0") + ":" + filepath.Join(dir, "p1") + ":" + filepath.Join(dir, "p2")
		code, p := run(t, runOpt{env: []string{path}}, "--", "foo")
		want := ""
		if tt.stdout != "" {
			want = "ran " + filepath.Join(dir, tt.stdout, "foo")
		}
		if code != tt.code || (want != "" && !slices.Contains(p.Out(), want)) || !strings.Contains(p.Stderr(), tt.msg) {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, code, p.Out(), p.Stderr(), tt.code, want, tt.msg)
		}
		if strings.Count(p.Stderr(), "\n") > 1 {
			t.Errorf("%s: more than one line of error: %q", tt.name, p.Stderr())
		}
		if tt.envToo {
			env := exec.Command("/usr/bin/env", "foo")
			env.Env = []string{path}
			env.Run()
			if got := env.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("%s: env(1) exits %d, initd %d", tt.name, got, tt.code)
			}
		}
	}
}

// A rewrite of a signal that initd never forwards is a usage error that
// names the rule, and nothing is started.
func TestSpawnRewriteNeverForwarded(t *testing.T) {
	const why = "is never forwarded (initd drops it so that it cannot be stopped by the terminal)"
	for _, tt := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"-r", "TTIN:TERM"}, "initd: --rewrite TTIN:TERM: SIGTTIN " + why},
		{nil, []string{"--rewrite", "TTOU:USR1"}, "initd: --rewrite TTOU:USR1: SIGTTOU " + why},
		{nil, []string{"-r", "CHLD:TERM"}, "initd: --rewrite CHLD:TERM: SIGCHLD is never forwarded (initd uses it to reap children)"},
		{[]string{"INITD_REWRITE=TERM:QUIT,TTOU:USR1"}, nil, `initd: INITD_REWRITE="TERM:QUIT,TTOU:USR1": TTOU:USR1: SIGTTOU ` + why},
	} {
		args := append(append(tt.args, "--"), helper("spawn-report")...)
		code, p := run(t, runOpt{env: tt.env}, args...)
		first, _, _ := strings.Cut(p.Stderr(), "\n")
		if code != 2 || first != tt.want || len(p.Out()) != 0 {
			t.Errorf("%q %q: status %d, first line %q, stdout %q; want 2, %q, nothing started", tt.env, tt.args, code, first, p.Out(), tt.want)
		}
	}
}

// The child gets exactly the environment initd was given: duplicates,
// entries without '=' and empty entries included, in order. Without a
// /proc initd can only pass on what os.Environ keeps.
func TestSpawnExactEnvironment(t *testing.T) {
	env := []string{"A=1", "PATH=/usr/bin:/bin", "A=2", "NOEQUALS", "B=", "", "PATH=/nowhere", helperEnv + "=1"}
	envOpt := "env=" + strings.Join(env, "\x1e")
	bothModes(t, func(t *testing.T, o runOpt) {
		code, p := run(t, launch(o, envOpt), "--", "/usr/bin/env")
		if got := p.Out(); code != 0 || !slices.Equal(got, env) {
			t.Errorf("status %d, the child's environment:\n%q\nwant\n%q", code, got, env)
		}
	})
	t.Run("no-proc", func(t *testing.T) {
		code, p := run(t, launch(runOpt{pid1: true}, envOpt, "noproc"), "--", "/usr/bin/env")
		want := []string{"A=1", "PATH=/usr/bin:/bin", "NOEQUALS", "B=", helperEnv + "=1"}
		if got := p.Out(); code != 0 || !slices.Equal(got, want) {
			t.Errorf("status %d, the child's environment:\n%q\nwant\n%q", code, got, want)
		}
	})
}

// pipeWith returns the read end of a pipe holding line.
func pipeWith(t *testing.T, line string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(line + "\n")
	w.Close()
	t.Cleanup(func() { r.Close() })
	return r
}

// Socket activation: when LISTEN_PID is initd's pid, the child gets its own
// pid there, and LISTEN_FDS, LISTEN_FDNAMES, the descriptors and the rest
// of the environment unchanged. initd still closes its own copies of the
// descriptors once the child runs.
func TestSpawnSocketActivation(t *testing.T) {
	bothModes(t, func(t *testing.T, o runOpt) {
		o.extra = []*os.File{pipeWith(t, "first socket"), pipeWith(t, "second socket")}
		o.env = []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=one:two"}
		p := start(t, launch(o, "listen-pid"), append([]string{"--"}, helper("spawn-report", "3", "4", "wait")...)...)
		p.saw("report done")
		out := p.Out()
		pid := prefixed(out, "pid ")
		if len(pid) != 1 || !slices.Contains(out, "LISTEN_PID="+pid[0]) {
			t.Errorf("the child's pid %q and LISTEN_PID differ: %q", pid, out)
		}
		for _, want := range []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=one:two", "fd 3 first socket", "fd 4 second socket"} {
			if !slices.Contains(out, want) {
				t.Errorf("child lacks %q: %q", want, out)
			}
		}
		// initd closes its copies once Start has returned, which can be
		// after the child has reported.
		if !closedIn(t, p.Pid(), 3, 4) {
			t.Errorf("initd still holds descriptor 3 or 4: %v", fdLinks(t, p.Pid()))
		}
		p.signal(syscall.SIGTERM)
		if code := p.wait(10 * time.Second); code != 0 {
			t.Errorf("status %d, stderr %q", code, p.Stderr())
		}
	})
	// Socket-activated, the environment is still exact and PATH is still
	// searched like execvp: p1/foo cannot run, p2/foo is the test binary.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "p1"), 0o755)
	os.Mkdir(filepath.Join(dir, "p2"), 0o755)
	os.WriteFile(filepath.Join(dir, "p1", "foo"), []byte("#!/no/such/interpreter\n"), 0o755)
	self, _ := os.Executable()
	if err := os.Symlink(self, filepath.Join(dir, "p2", "foo")); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + filepath.Join(dir, "p1") + ":" + filepath.Join(dir, "p2")
	env := []string{"A=1", path, "A=2", "NOEQUALS", "LISTEN_FDS=0", "GODEBUG=gctrace=1", helperEnv + "=1"}
	argv := helper("spawn-report", "environ")
	argv[0] = "foo"
	code, p := run(t, launch(runOpt{pid1: true}, "env="+strings.Join(env, "\x1e"), "listen-pid"), append([]string{"--"}, argv...)...)
	out := p.Out()
	pid := prefixed(out, "pid ")
	if code != 0 || len(pid) != 1 {
		t.Fatalf("foo in PATH, socket-activated: status %d, stdout %q, stderr %q", code, out, p.Stderr())
	}
	var got []string
	for _, q := range prefixed(out, "env ") {
		kv, _ := strconv.Unquote(q)
		got = append(got, kv)
	}
	if want := append(slices.Clone(env), "LISTEN_PID="+pid[0]); !slices.Equal(got, want) {
		t.Errorf("socket-activated, the environment is\n%q\nwant\n%q", got, want)
	}
	code, p = run(t, launch(runOpt{pid1: true}, "env="+path, "listen-pid"), "--", "nosuch")
	if code != 127 || p.Stderr() != "initd: nosuch: not found in PATH\n" {
		t.Errorf("a missing command, socket-activated: status %d, stderr %q", code, p.Stderr())
	}
	// Another process's LISTEN_PID passes through untouched.
	code, p = run(t, runOpt{pid1: true, env: []string{"LISTEN_PID=999999", "LISTEN_FDS=1"}}, append([]string{"--"}, helper("spawn-report")...)...)
	if code != 0 || !slices.Contains(p.Out(), "LISTEN_PID=999999") {
		t.Errorf("LISTEN_PID of another process: status %d, stdout %q", code, p.Out())
	}
}

// The child starts with initd's signal mask, except for the signals the Go
// runtime unblocks before initd's main runs; an ignored signal stays
// ignored only where the runtime keeps the inherited SIG_IGN. The docs
// (README, "Signals") list both sets; this test holds them to it. Through
// socket activation's raw fork the child gets the same.
func TestSpawnSignalMaskAndIgnores(t *testing.T) {
	set := func(sigs ...int) uint64 {
		var s uint64
		for _, n := range sigs {
			s |= 1 << (n - 1)
		}
		return s
	}
	blockable := ^uint64(0) &^ set(9, 19) // KILL and STOP cannot be blocked
	unblocked := set(1, 2, 3, 4, 5, 6, 7, 8, 11, 15, 16, 17, 27, 31, 32, 33, 34)
	keptIgnored := set(1, 2, 32, 34)
	for _, activated := range []bool{false, true} {
		opts := []string{"block=all", "ignore=all"}
		if activated {
			opts = append(opts, "listen-pid")
		}
		code, p := run(t, launch(runOpt{pid1: true}, opts...), "--", "/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status")
		got := map[string]uint64{}
		for _, l := range p.Out() {
			k, v, _ := strings.Cut(l, ":")
			got[k], _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
		if code != 0 || got["SigBlk"] != blockable&^unblocked || got["SigIgn"] != keptIgnored {
			t.Errorf("socket-activated %v: status %d, SigBlk %016x SigIgn %016x; want %016x and %016x\nstderr %q",
				activated, code, got["SigBlk"], got["SigIgn"], blockable&^unblocked, keptIgnored, p.Stderr())
		}
	}
}

// A usage error is two lines on stderr, the error and a pointer to
// --help; a child that cannot start is one. Both start with "initd: ".
func TestSpawnErrorLines(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		lines int
	}{
		{[]string{"--no-such-option", "true"}, 2},
		{[]string{"--", "/no/such/command"}, 1},
	} {
		_, p := run(t, runOpt{}, tt.args...)
		ls := strings.Split(strings.TrimSuffix(p.Stderr(), "\n"), "\n")
		if len(ls) != tt.lines {
			t.Errorf("initd %q: %d lines on stderr, want %d: %q", tt.args, len(ls), tt.lines, p.Stderr())
		}
		for _, l := range ls {
			if !strings.HasPrefix(l, "initd: ") {
				t.Errorf("initd %q: line %q does not start with \"initd: \"", tt.args, l)
			}
		}
	}
}

// Without /proc, initd still finds the descriptors it was given for the
// child, one far above 1023 included, and closes its own copies.
func TestSpawnInheritedDescriptorsWithoutProc(t *testing.T) {
	o := runOpt{pid1: true, extra: []*os.File{pipeWith(t, "low"), pipeWith(t, "high")}}
	p := start(t, launch(o, "noproc", "dup=4:2000"), append([]string{"--"}, helper("spawn-report", "3", "2000", "wait")...)...)
	p.saw("report done")
	for _, want := range []string{"fd 3 low", "fd 2000 high"} {
		if !slices.Contains(p.Out(), want) {
			t.Errorf("child lacks %q: %q", want, p.Out())
		}
	}
	if !closedIn(t, p.Pid(), 3, 4, 2000) {
		t.Errorf("initd still holds descriptor 3, 4 or 2000: %v", fdLinks(t, p.Pid()))
	}
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
}

// A GODEBUG meant for the app configures initd's runtime too: with
// schedtrace, initd writes the runtime's scheduler lines to the stderr it
// shares with the app. The child is a shell, so every such line is
// initd's.
func TestSpawnGodebugConfiguresInitd(t *testing.T) {
	code, p := run(t, runOpt{env: []string{"GODEBUG=schedtrace=1000"}}, "--", "/bin/sh", "-c", "echo \"GODEBUG=$GODEBUG\"")
	if code != 0 || !p.has("GODEBUG=schedtrace=1000") || !strings.Contains(p.Stderr(), "SCHED ") {
		t.Errorf("status %d, stdout %q, stderr %q; want the child to get GODEBUG and initd to print SCHED lines", code, p.Out(), p.Stderr())
	}
}
