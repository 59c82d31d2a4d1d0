package spawn

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/initd/initd/internal/exitstatus"
)

// Socket activation (sd_listen_fds(3)): a service manager that hands
// sockets to initd sets LISTEN_PID to initd's pid, and a child that finds
// another pid there ignores the sockets. The child's LISTEN_PID must be the
// child's own pid, which exists only after the fork, and syscall.ForkExec
// runs no code of ours between fork and exec. So in that case the fork
// executes initd's own binary as a shim, which sets LISTEN_PID to its pid
// and then executes the command in its place. LISTEN_FDS, LISTEN_FDNAMES
// and the descriptors pass through untouched.
//
// The shim is told apart from a user's initd by its argv[0], which no
// command line or entrypoint would give, and by an empty environment. The
// child's environment travels in its argv instead, so that a GODEBUG or
// GOMAXPROCS meant for the app does not configure the shim, and the
// command's argv and environment are as long as they would be without the
// shim. It searches PATH itself, since only an exec in the shim's own
// process keeps the pid that LISTEN_PID names; a command it cannot start
// is reported by the shim, with the same message and status.

// shimArg0 marks the shim: argv is shimArg0, the number of the command's
// arguments, the arguments, then the environment.
const shimArg0 = "\x01initd-socket-activation-shim"

// listenPidIsOurs reports whether env hands sockets to initd itself. As
// getenv(3) does, the first LISTEN_PID counts.
func listenPidIsOurs(env []string) bool {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LISTEN_PID="); ok {
			return v == strconv.Itoa(os.Getpid())
		}
	}
	return false
}

// startShim forks initd's own binary as the shim for argv.
func (f *forker) startShim(argv []string) error {
	exe := "/proc/self/exe" // in the forked child: initd's binary, even if replaced on disk
	if !exists(exe) {
		var err error
		if exe, err = os.Executable(); err != nil {
			return &Error{exitstatus.Setup, "cannot start " + argv[0] + " with LISTEN_PID set to its pid: cannot find initd's own binary: " + err.Error()}
		}
	}
	shimArgv := shimArgs(argv, f.env)
	env := f.env
	f.env = []string{}
	defer func() { f.env = env }()
	if errno := f.fork(exe, shimArgv); errno != 0 {
		// Whatever went wrong, it was initd's own binary that did not
		// start, not the command.
		e := explain(exe, errno).(*Error)
		e.Code, e.Msg = exitstatus.Setup, "cannot start "+argv[0]+" with LISTEN_PID set to its pid: "+e.Msg
		return e
	}
	return nil
}

// shimArgs is the shim's argv for a command.
func shimArgs(argv, env []string) []string {
	a := make([]string, 0, 2+len(argv)+len(env))
	a = append(a, shimArg0, strconv.Itoa(len(argv)))
	a = append(a, argv...)
	return append(a, env...)
}

// parseShim undoes shimArgs, with the shim's pid put into LISTEN_PID. ok
// is false for any process that is not the shim.
func parseShim(args []string, environ int, pid int) (argv, env []string, ok bool) {
	if len(args) < 3 || args[0] != shimArg0 || environ != 0 {
		return nil, nil, false
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > len(args)-2 {
		return nil, nil, false
	}
	argv, env = args[2:2+n], args[2+n:]
	for i, kv := range env {
		if strings.HasPrefix(kv, "LISTEN_PID=") {
			env[i] = "LISTEN_PID=" + strconv.Itoa(pid)
		}
	}
	return argv, env, true
}

// RunShim returns at once unless this process is the socket-activation
// shim; the shim never returns. It must be the first thing main does.
func RunShim() {
	if len(os.Args) < 3 || os.Args[0] != shimArg0 {
		return
	}
	argv, env, ok := parseShim(os.Args, len(os.Environ()), os.Getpid())
	if !ok {
		return
	}
	err := search(argv[0], env, func(path string) syscall.Errno {
		// syscall.Exec returns only when it failed.
		err := syscall.Exec(path, argv, env)
		errno, _ := err.(syscall.Errno)
		return errno
	})
	e, _ := err.(*Error)
	if e == nil {
		e = &Error{exitstatus.NoExec, argv[0] + ": cannot execute"}
	}
	msg := "initd: " + e.Msg + "\n"
	syscall.Write(2, []byte(msg))
	os.Exit(e.Code)
}
