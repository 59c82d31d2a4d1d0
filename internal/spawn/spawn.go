// Package spawn starts initd's child: it finds the command like execvp(3),
// forks it into a process group of its own, and turns every failure into
// the message and exit status a user needs.
package spawn

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/procfs"
)

// defaultPath is searched when PATH is unset; it is the PATH that Docker
// gives containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Error is a command that could not be started. Code is the exit status
// initd reports for it: 126, 127, or exitstatus.Setup when the failure was
// initd's own (fork failed).
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Start starts argv in a new process group, in the terminal's foreground
// when stdin is initd's controlling terminal. Working directory,
// environment, standard descriptors and descriptors without close-on-exec
// pass through unchanged. With wantPidfd it also returns a pidfd of the
// child (CLONE_PIDFD, Linux 5.3+), or -1 where the kernel gives none; the
// caller owns it.
func Start(argv []string, env []string, wantPidfd bool) (pid, pidfd int, err error) {
	pidfd = -1
	path, err := lookPath(argv[0], env)
	if err != nil {
		return 0, -1, err
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if wantPidfd {
		attr.PidFD = &pidfd
	}
	// Asking for the foreground when stdin is not our controlling terminal
	// makes the spawn fail with ENOTTY, so only ask when TIOCGPGRP works.
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
		attr.Foreground, attr.Ctty = true, 0
	}
	pid, err = syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   attr,
	})
	if err != nil {
		return 0, -1, explain(argv[0], path, err)
	}
	return pid, pidfd, nil
}

// lookPath finds name like execvp(3): a name with a slash is used as is;
// otherwise the first executable regular file in PATH wins, and if only
// non-executable ones were found the error is "permission denied" (126),
// not "not found" (127). An empty PATH searches nothing: execvp would
// search the working directory, which is rarely what a container means.
func lookPath(name string, env []string) (string, error) {
	if strings.IndexByte(name, '/') >= 0 {
		return name, nil
	}
	path, set := defaultPath, false
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path, set = kv[5:], true
		}
	}
	if set && path == "" {
		return "", &Error{exitstatus.NotFound, name + ": not found (PATH is empty)"}
	}
	denied := ""
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS) == nil {
			return p, nil
		}
		if denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", &Error{exitstatus.NoExec, denied + ": permission denied (not executable)"}
	}
	return "", &Error{exitstatus.NotFound, name + ": not found in PATH"}
}

// explain turns an exec failure into the message and status a user needs.
func explain(name, path string, err error) error {
	errno, _ := err.(syscall.Errno)
	e := &Error{Code: exitstatus.NoExec}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR:
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil {
			e.Code, e.Msg = exitstatus.NotFound, name+": not found"
			return e
		}
		// The file exists, so its interpreter does not.
		e.Msg = name + ": cannot execute: " + badInterpreter(path)
	case syscall.ENAMETOOLONG:
		e.Code, e.Msg = exitstatus.NotFound, name[:min(len(name), 64)]+"...: file name too long"
	case syscall.EACCES:
		var st unix.Stat_t
		if unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			e.Msg = name + ": cannot execute: is a directory"
		} else {
			e.Msg = name + ": cannot execute: permission denied"
		}
	case syscall.ENOEXEC:
		e.Msg = name + ": cannot execute: not a binary for this machine and no #! line"
	case syscall.E2BIG:
		e.Msg = name + ": cannot execute: argument list too long"
	case syscall.EAGAIN, syscall.ENOMEM:
		e.Code, e.Msg = exitstatus.Setup, "cannot start "+name+": fork: "+err.Error()
	default:
		e.Msg = name + ": cannot execute: " + err.Error()
	}
	return e
}

// badInterpreter names the missing interpreter of a script, pointing out
// the CRLF line ending that is the usual reason it looks present but is not.
func badInterpreter(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "interpreter not found"
	}
	buf := make([]byte, 256)
	n, _ := unix.Read(fd, buf)
	unix.Close(fd)
	n = max(n, 0)
	line, _, _ := bytes.Cut(buf[:n], []byte{'\n'})
	if !bytes.HasPrefix(line, []byte("#!")) {
		return "interpreter not found"
	}
	interp := strings.TrimSpace(string(line[2:]))
	if i := strings.IndexAny(interp, " \t"); i >= 0 {
		interp = interp[:i]
	}
	if bytes.HasSuffix(line, []byte{'\r'}) {
		return "bad interpreter " + strconv.Quote(interp) + ": the #! line ends with CRLF (a DOS line ending)"
	}
	return "bad interpreter " + strconv.Quote(interp) + ": no such file"
}

// InheritedFDs lists descriptors 3 and up that initd was given without
// close-on-exec. They are meant for the child, which inherits them across
// exec; initd closes its own copies once the child runs. The Go runtime's
// own descriptors are all close-on-exec and are never listed.
func InheritedFDs() []int {
	var fds []int
	check := func(fd int) {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	if open, dirfd, err := procfs.Numbers("/proc/self/fd"); err == nil {
		for _, fd := range open {
			if fd > 2 && fd != dirfd {
				check(fd)
			}
		}
		return fds
	}
	// Without /proc, probe the usual range.
	for fd := 3; fd < 1024; fd++ {
		check(fd)
	}
	return fds
}

// Environ returns the environment initd was started with, for the child.
func Environ() []string { return os.Environ() }
