package main

// --user: the child runs as another user, with the ids and groups gosu
// and su-exec would give it, on every spawn path (ForkExec, the raw fork
// at a low descriptor limit, the raw fork of socket activation), while
// initd stays root; and a user that cannot be had is an error of its own
// before anything runs.

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	registerHelper("user-launch", userLaunch)
}

// userLaunch applies its options, then executes the argv after "--":
//
//	etc=DIR       bind-mount DIR/passwd and DIR/group on /etc/passwd and
//	              /etc/group (in a mount namespace of its own)
//	nocap=N       drop capability N from every set, the bounding set
//	              included, so that an exec as root does not give it back
//	unset=NAME    remove NAME from the environment
//	nocgroup      hide /sys/fs/cgroup under an empty tmpfs
//	groups=G,...  set the supplementary groups, which initd inherits
func userLaunch(args []string) {
	i := slices.Index(args, "--")
	opts, argv := args[:i], args[i+1:]
	die := func(what string, err error) {
		os.Stderr.WriteString("user-launch: " + what + ": " + err.Error() + "\n")
		os.Exit(121)
	}
	// Capabilities are per thread: change them on the thread that execs.
	runtime.LockOSThread()
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "etc":
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				die(o, err)
			}
			for _, f := range []string{"passwd", "group"} {
				if err := unix.Mount(filepath.Join(v, f), "/etc/"+f, "", unix.MS_BIND, ""); err != nil {
					die(o, err)
				}
			}
		case "nocap":
			c, _ := strconv.Atoi(v)
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				die(o, err)
			}
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				die(o, err)
			}
			data[c/32].Effective &^= 1 << (c % 32)
			data[c/32].Permitted &^= 1 << (c % 32)
			data[c/32].Inheritable &^= 1 << (c % 32)
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				die(o, err)
			}
		case "unset":
			os.Unsetenv(v)
		case "groups":
			var gs []int
			for g := range strings.SplitSeq(v, ",") {
				n, _ := strconv.Atoi(g)
				gs = append(gs, n)
			}
			if err := syscall.Setgroups(gs); err != nil {
				die(o, err)
			}
		case "nocgroup":
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				die(o, err)
			}
			if err := unix.Mount("tmpfs", "/sys/fs/cgroup", "tmpfs", 0, "size=4k"); err != nil {
				die(o, err)
			}
		default:
			die(o, syscall.EINVAL)
		}
	}
	die("exec", syscall.Exec(argv[0], argv, os.Environ()))
}

// userLaunched makes o start initd through userLaunch with opts, in a mount
// namespace of its own; launch (spawn-launch) options added after it come
// after it.
func userLaunched(o runOpt, opts ...string) runOpt {
	o = launchVia(o, "user-launch", opts)
	launched := o.setup
	o.setup = func(cmd *exec.Cmd) {
		launched(cmd)
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNS
	}
	return o
}

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n"
	testGroup  = "root:x:0:\nstaff:x:50:other,app\napp:x:1000:\naudio:x:29:app\n"
)

// etcDir writes a passwd and a group file for userLaunch's etc option.
func etcDir(t *testing.T, passwd, group string) string {
	t.Helper()
	dir := t.TempDir()
	for f, s := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// identityScript prints HOME, the shell's pid and LISTEN_PID, then the
// ids of the process as the kernel holds them.
const identityScript = `echo "HOME=$HOME"; echo "pid $$ ${LISTEN_PID-unset}"; exec grep -E '^(Uid|Gid|Groups):' /proc/self/status`

// identity is the ids a child reported: real, effective, saved and file
// system uid and gid, and the supplementary groups, sorted.
type identity struct {
	uid, gid, groups, home string
}

func reported(out []string) identity {
	var id identity
	for _, l := range out {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "HOME="):
			id.home = l[5:]
		case len(f) > 0 && f[0] == "Uid:":
			id.uid = strings.Join(f[1:], " ")
		case len(f) > 0 && f[0] == "Gid:":
			id.gid = strings.Join(f[1:], " ")
		case len(f) > 0 && f[0] == "Groups:":
			g := f[1:]
			slices.SortFunc(g, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
			id.groups = strings.Join(g, " ")
		}
	}
	return id
}

// all4 is an id as real, effective, saved and file system id.
func all4(id string) string { return strings.Repeat(id+" ", 3) + id }

// spawnPaths are initd's three ways of starting its child, and the
// user-launch and spawn-launch options that take each. At a limit of 4
// initd has one descriptor to read /etc/passwd with, and ForkExec none for
// its pipe, except under cgroup v1, where the Go runtime opens two cgroup
// files at start and keeps the first when the second fails: there the
// test hides the cgroup files, as a cgroup v2 host would have them.
var spawnPaths = []struct {
	name   string
	launch []string // user-launch's
	opts   []string // spawn-launch's
}{
	{"forkexec", nil, nil},
	{"nofile4", []string{"nocgroup"}, []string{"nofile=4"}},
	{"activated", nil, []string{"listen-pid"}},
	{"activated-nofile4", []string{"nocgroup"}, []string{"nofile=4", "listen-pid"}},
}

// Each form of --user gives the child the ids, groups and HOME that gosu
// and su-exec would, on every spawn path, as PID 1 and not. initd starts
// with supplementary groups of its own, none of which the child may keep.
func TestUserIdentity(t *testing.T) {
	requireNamespaces(t)
	etc := etcDir(t, testPasswd, testGroup)
	for _, tt := range []struct {
		spec             string
		uid, gid, groups string
		home             string
	}{
		{"app", "1000", "1000", "29 50 1000", "/home/app"},
		{"1000", "1000", "1000", "29 50 1000", "/home/app"},
		{"app:staff", "1000", "50", "50", "/home/app"},
		{"1000:1000", "1000", "1000", "1000", "/home/app"},
		{"app:4343", "1000", "4343", "4343", "/home/app"},
		// A uid without an entry: initd's gid (root's 0), no groups.
		{"4242", "4242", "0", "", "/"},
		{"4242:4343", "4242", "4343", "4343", "/"},
		{"root", "0", "0", "0", "/root"},
	} {
		for _, sp := range spawnPaths {
			bothModes(t, func(t *testing.T, o runOpt) {
				o = launch(userLaunched(o, append(sp.launch, "etc="+etc, "unset=HOME", "groups=4,27,100")...), sp.opts...)
				code, p := run(t, o, "--user", tt.spec, "--", "/bin/sh", "-c", identityScript)
				got := reported(p.Out())
				want := identity{all4(tt.uid), all4(tt.gid), tt.groups, tt.home}
				if code != 0 || got != want {
					t.Errorf("--user %s, %s: status %d, %+v; want 0, %+v\nstdout %q\nstderr %q", tt.spec, sp.name, code, got, want, p.Out(), p.Stderr())
				}
				if strings.HasPrefix(sp.name, "activated") {
					f := strings.Fields(lineWith(p.Out(), "pid "))
					if len(f) != 3 || f[1] != f[2] {
						t.Errorf("--user %s, %s: the child's pid and LISTEN_PID differ: %q", tt.spec, sp.name, f)
					}
				}
			})
		}
	}
}

// HOME is set from the passwd entry only when the environment has none or
// an empty one; INITD_USER is --user.
func TestUserHome(t *testing.T) {
	requireNamespaces(t)
	etc := etcDir(t, testPasswd, testGroup)
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"HOME=/custom"}, "/custom"},
		{[]string{"HOME="}, "/home/app"},
	} {
		o := userLaunched(runOpt{pid1: true, env: append(tt.env, "INITD_USER=app")}, "etc="+etc)
		code, p := run(t, o, "--", "/bin/sh", "-c", identityScript)
		if got := reported(p.Out()); code != 0 || got.home != tt.want || got.uid != all4("1000") {
			t.Errorf("%q: status %d, %+v; want HOME %q as uid 1000\nstderr %q", tt.env, code, got, tt.want, p.Stderr())
		}
	}
}

// A user that cannot be had is one line naming what failed, status 125,
// and the command never runs, on any spawn path.
func TestUserErrors(t *testing.T) {
	requireNamespaces(t)
	etc := etcDir(t, testPasswd, testGroup)
	bad := etcDir(t, testPasswd+"broken:x:1001\n", testGroup)
	const cmd = "echo RAN; id"
	for _, tt := range []struct {
		name  string
		user  string
		opts  []string // user-launch's
		paths bool     // try every spawn path
		code  int
		msg   string
	}{
		{"unknown user", "nosuch", []string{"etc=" + etc}, false, 125, `initd: user "nosuch": no such user in /etc/passwd`},
		{"unknown group", "app:nosuch", []string{"etc=" + etc}, false, 125, `initd: user "app:nosuch": no group "nosuch" in /etc/group`},
		{"malformed passwd", "app", []string{"etc=" + bad}, false, 125, `initd: user "app": /etc/passwd line 3 is malformed: "broken:x:1001"`},
		{"bad syntax", "app:", []string{"etc=" + etc}, false, 2, `initd: --user: want USER or USER:GROUP, got "app:"`},
		{"setgroups refused", "app", []string{"etc=" + etc, "nocap=" + strconv.Itoa(unix.CAP_SETGID)}, true, 125, `initd: cannot start /bin/sh as user "app": setgroups: operation not permitted`},
		{"setuid refused", "app", []string{"etc=" + etc, "nocap=" + strconv.Itoa(unix.CAP_SETUID)}, true, 125, `initd: cannot start /bin/sh as user "app": setuid: operation not permitted`},
	} {
		paths := spawnPaths[:1]
		if tt.paths {
			paths = spawnPaths
		}
		for _, sp := range paths {
			bothModes(t, func(t *testing.T, o runOpt) {
				o = launch(userLaunched(o, append(sp.launch, tt.opts...)...), sp.opts...)
				code, p := run(t, o, "--user", tt.user, "--", "/bin/sh", "-c", cmd)
				first, _, _ := strings.Cut(p.Stderr(), "\n")
				if code != tt.code || first != tt.msg || len(p.Out()) > 0 {
					t.Errorf("%s, %s: status %d, stderr %q, stdout %q; want %d, %q and nothing run", tt.name, sp.name, code, p.Stderr(), p.Out(), tt.code, tt.msg)
				}
				if lines := strings.Count(p.Stderr(), "\n"); tt.code == 125 && lines != 1 {
					t.Errorf("%s, %s: %d lines on stderr, want 1: %q", tt.name, sp.name, lines, p.Stderr())
				}
			})
		}
	}
}

// initd stays root, and a stop signal still reaches the child that runs
// as another user, whose trap handles it.
func TestUserSignalReachesChild(t *testing.T) {
	requireNamespaces(t)
	etc := etcDir(t, testPasswd, testGroup)
	bothModes(t, func(t *testing.T, o runOpt) {
		p := start(t, userLaunched(o, "etc="+etc), "--user", "app", "--", "/bin/sh", "-c",
			`trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
		p.expect("ready")
		child := childOf(t, p.Pid())
		uid := func(pid int) string {
			for _, l := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
				if v, ok := strings.CutPrefix(l, "Uid:"); ok {
					return strings.Join(strings.Fields(v), " ")
				}
			}
			return ""
		}
		if got := uid(p.Pid()); got != all4("0") {
			t.Errorf("initd's uids are %q, want root's", got)
		}
		if got := uid(child); got != all4("1000") {
			t.Errorf("the child's uids are %q, want 1000", got)
		}
		p.signal(syscall.SIGTERM)
		if code := p.wait(10 * time.Second); code != 3 || !p.has("got TERM") {
			t.Errorf("status %d, stdout %q; want 3 from the child's trap", code, p.Out())
		}
	})
}
