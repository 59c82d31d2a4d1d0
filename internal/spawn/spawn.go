// Package spawn starts initd's child: it finds the command like execvp(3),
// forks it into a process group of its own, and turns every failure into
// the message and exit status a user needs.
package spawn

import (
	"bytes"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/exitstatus"
)

// defaultPath is searched when PATH is unset; it is the PATH that Docker
// gives containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Error is a command that could not be started. Code is the exit status
// initd reports for it: 126, 127, or exitstatus.Setup when the failure was
// initd's own (no process, no memory, no descriptor for the spawn).
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Start starts argv in a new process group, in the terminal's foreground
// when stdin is initd's controlling terminal. Working directory,
// environment, standard descriptors and descriptors without close-on-exec
// pass through unchanged; the one exception is socket activation (see
// RunShim). With wantPidfd it also returns a pidfd of the child
// (CLONE_PIDFD, Linux 5.3+), or -1 where the kernel gives none or no
// descriptor is left for one; the caller owns it.
func Start(argv []string, env []string, wantPidfd bool) (pid, pidfd int, err error) {
	f := &forker{env: env, pidfd: -1}
	f.attr.Sys = &syscall.SysProcAttr{Setpgid: true}
	f.attr.Files = []uintptr{0, 1, 2}
	if wantPidfd {
		f.attr.Sys.PidFD = &f.pidfd
	}
	// Asking for the foreground when stdin is not our controlling terminal
	// makes the spawn fail with ENOTTY, so only ask when TIOCGPGRP works.
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
		f.attr.Sys.Foreground, f.attr.Sys.Ctty = true, 0
	}
	if listenPidIsOurs(env) {
		err = f.startShim(argv)
	} else {
		f.argv = argv
		err = search(argv[0], env, f.try)
	}
	if err != nil {
		return 0, -1, err
	}
	return f.pid, f.pidfd, nil
}

// forker forks one candidate of the search at a time.
type forker struct {
	argv, env []string
	attr      syscall.ProcAttr
	pid       int
	pidfd     int
	noPipe    bool // the limit on descriptors left no room for ForkExec's pipe
}

// try starts path, or says why it cannot. A candidate that does not exist
// is answered from stat(2) without a fork: execve would fail the same way,
// and the usual PATH has a few entries before the one that holds the
// command.
func (f *forker) try(path string) syscall.Errno {
	var st unix.Stat_t
	switch err := unix.Stat(path, &st); err {
	case unix.ENOENT, unix.ENOTDIR, unix.ENAMETOOLONG:
		return err.(syscall.Errno)
	}
	return f.fork(path, f.argv)
}

func (f *forker) fork(path string, argv []string) syscall.Errno {
	if !f.noPipe {
		pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: f.env, Files: f.attr.Files, Sys: f.attr.Sys})
		if err == nil {
			f.pid = pid
			return 0
		}
		errno, _ := err.(syscall.Errno)
		if errno == syscall.EINVAL && f.attr.Sys.PidFD != nil {
			// CLONE_PIDFD refused: qemu-user refuses it, for one. A
			// pidfd is optional.
			f.attr.Sys.PidFD, f.pidfd = nil, -1
			return f.fork(path, argv)
		}
		if errno != syscall.EMFILE && errno != syscall.ENFILE {
			return errno
		}
		// The pipe or the pidfd found no free descriptor. A pidfd is
		// optional; without one only the pipe is left to do without.
		if f.attr.Sys.PidFD != nil {
			f.attr.Sys.PidFD, f.pidfd = nil, -1
			return f.fork(path, argv)
		}
		f.noPipe = true
	}
	pid, errno := forkNoPipe(path, argv, f.env, f.attr.Sys.Foreground)
	if errno == 0 {
		f.pid = pid
	}
	return errno
}

// exists reports whether path names a file, as opposed to a missing one.
func exists(path string) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil
}

// explain turns the errno of an exec of path into the message and status a
// user needs.
func explain(path string, errno syscall.Errno) error {
	e := &Error{Code: exitstatus.NoExec}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR:
		if !exists(path) {
			e.Code, e.Msg = exitstatus.NotFound, path+": not found"
			return e
		}
		// The file exists, so its interpreter does not.
		e.Msg = path + ": cannot execute: " + badInterpreter(path)
	case syscall.ENAMETOOLONG:
		e.Code, e.Msg = exitstatus.NotFound, path[:min(len(path), 64)]+"...: file name too long"
	case syscall.EACCES:
		var st unix.Stat_t
		switch {
		case unix.Stat(path, &st) != nil:
			e.Msg = path + ": cannot execute: permission denied"
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			e.Msg = path + ": cannot execute: is a directory"
		case st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 == 0:
			e.Msg = path + ": cannot execute: permission denied (not executable)"
		default:
			e.Msg = path + ": cannot execute: permission denied"
		}
	case syscall.ENOEXEC:
		e.Msg = path + ": cannot execute: not a binary for this machine and no #! line"
	case syscall.E2BIG:
		e.Msg = path + ": cannot execute: argument list too long"
	case syscall.EAGAIN, syscall.ENOMEM:
		e.Code, e.Msg = exitstatus.Setup, "cannot start "+path+": fork: "+errno.Error()
	case syscall.EMFILE, syscall.ENFILE:
		// Not the command's fault: initd had no descriptor to spare even
		// for a pipe-less spawn (ENFILE: the whole system had none).
		e.Code, e.Msg = exitstatus.Setup, "cannot start "+path+": "+errno.Error()+" (RLIMIT_NOFILE "+nofile()+")"
	default:
		e.Msg = path + ": cannot execute: " + errno.Error()
	}
	return e
}

func nofile() string {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return "unknown"
	}
	return strconv.FormatUint(lim.Cur, 10)
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
