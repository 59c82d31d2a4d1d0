package main

// Older kernels, emulated on this one with a seccomp filter that makes the
// newer system calls fail the way an older kernel does: so the fallbacks
// of the reap modes and of pidfd signalling are tested for real.

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	registerHelper("seccomp-exec", seccompExec)
}

// seccompExec MODE ARGV... installs the filter for MODE on this thread and
// execs ARGV with it.
func seccompExec(args []string) {
	mode, argv := args[0], args[1:]
	if runtime.GOARCH != "amd64" {
		fmt.Fprintln(os.Stderr, "seccomp-exec: amd64 only")
		os.Exit(121)
	}
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		arg0 = 16 // offsetof(struct seccomp_data, args[0]), low half
		fail = unix.SECCOMP_RET_ERRNO
	)
	argOff := func(i uint32) uint32 { return arg0 + 8*i }
	// Each rule: system call, argument to test (or -1), how to test it
	// (jset: any bit of val; jeq: equal), errno.
	type rule struct {
		nr    uint32
		arg   int
		set   bool
		val   uint32
		errno uint32
	}
	var rules []rule
	switch mode {
	case "no-pidfd-info":
		rules = []rule{{unix.SYS_IOCTL, 1, false, unix.PIDFD_GET_INFO & 0xffffffff, uint32(unix.ENOTTY)}}
	case "no-group-flag":
		rules = []rule{{unix.SYS_PIDFD_SEND_SIGNAL, 3, true, unix.PIDFD_SIGNAL_PROCESS_GROUP, uint32(unix.EINVAL)}}
	case "no-pidfds":
		rules = []rule{
			{unix.SYS_PIDFD_OPEN, -1, false, 0, uint32(unix.ENOSYS)},
			{unix.SYS_PIDFD_SEND_SIGNAL, -1, false, 0, uint32(unix.ENOSYS)},
			{unix.SYS_CLONE3, -1, false, 0, uint32(unix.ENOSYS)},
			{unix.SYS_CLONE, 0, true, unix.CLONE_PIDFD, uint32(unix.EINVAL)},
		}
	default:
		fmt.Fprintln(os.Stderr, "seccomp-exec: unknown mode", mode)
		os.Exit(121)
	}
	prog := []unix.SockFilter{
		{Code: ld, K: 4}, // arch
		{Code: jeq, K: unix.AUDIT_ARCH_X86_64, Jt: 1},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	for _, r := range rules {
		// nr == r.nr ? (test the argument) : next rule
		body := []unix.SockFilter{{Code: ret, K: fail | r.errno}}
		if r.arg >= 0 {
			code := uint16(jeq)
			if r.set {
				code = jset
			}
			body = []unix.SockFilter{
				{Code: ld, K: argOff(uint32(r.arg))},
				{Code: code, K: r.val, Jf: 1},
				{Code: ret, K: fail | r.errno},
			}
		}
		prog = append(prog, unix.SockFilter{Code: ld, K: 0}, unix.SockFilter{Code: jeq, K: r.nr, Jf: uint8(len(body))})
		prog = append(prog, body...)
	}
	prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp-exec: no_new_privs:", err)
		os.Exit(121)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Fprintln(os.Stderr, "seccomp-exec: seccomp:", e)
		os.Exit(121)
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INITD_TEST_HELPER=") {
			env = append(env, kv)
		}
	}
	env = append(env, "INITD_TEST_HELPER=1")
	fmt.Fprintln(os.Stderr, "seccomp-exec:", syscall.Exec(argv[0], argv, env))
	os.Exit(121)
}

// underOldKernel runs initd as PID 1 with the filter for mode.
func underOldKernel(mode string) runOpt {
	return runOpt{pid1: true, setup: func(c *exec.Cmd) {
		// The PID 1 wrapper execs its first argument: make that the
		// filter, which then execs initd.
		self, _ := os.Executable()
		c.Args = append([]string{c.Args[0], self, "-helper=seccomp-exec", mode}, c.Args[1:]...)
	}}
}

// On each emulated kernel initd picks the mode it can, still forwards to
// the whole group, reaps, and reports the child's status.
func TestOlderKernels(t *testing.T) {
	requireNamespaces(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter is written for amd64")
	}
	helper("seccomp-exec") // used through underOldKernel
	for _, tt := range []struct {
		mode, reap string
	}{
		{"no-pidfd-info", "wait"},
		{"no-group-flag", "kernel"},
		{"no-pidfds", "wait"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			// --reap=auto, not INITD_REAP: the mode is the kernel's choice.
			p := start(t, underOldKernel(tt.mode), append([]string{"-vv", "--reap=auto", "--"}, helper("record", "child", "TERM", "grandchild")...)...)
			p.sawEvent("grandchild", "ready")
			p.sawEvent("child", "ready")
			if !strings.Contains(p.Stderr(), "reaping in "+tt.reap+" mode") {
				t.Errorf("stderr %q: want %s mode", p.Stderr(), tt.reap)
			}
			p.signal(syscall.SIGTERM)
			p.expectEvent("grandchild", "got", "SIGTERM")
			if code := p.wait(20 * time.Second); code != 0 {
				t.Errorf("status %d, want 0", code)
			}
		})
	}
	// Asked for explicitly, kernel mode on a kernel that cannot do it is
	// a clear start-up error.
	for _, mode := range []string{"no-pidfd-info", "no-pidfds"} {
		code, p := run(t, underOldKernel(mode), "--reap=kernel", "--", "/bin/true")
		if code != 125 || !strings.Contains(p.Stderr(), "initd: --reap=kernel: this kernel cannot report") {
			t.Errorf("%s: --reap=kernel: status %d, stderr %q; want 125 and the reason", mode, code, p.Stderr())
		}
	}
}
