// Package spawn starts initd's child: it finds the command like execvp(3),
// forks it into a process group of its own, as the user RunAs names, and
// turns every failure into the message and exit status a user needs.
// Nothing of the child's environment ever goes into a command line, which
// every user can read in /proc/PID/cmdline.
package spawn

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/user"
)

// defaultPath is searched when PATH is unset; it is the PATH that Docker
// gives containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Error is a command that could not be started. Code is the exit status
// initd reports for it: 126, 127, or exitstatus.Setup when the failure was
// initd's own (no process, no memory, no descriptor for the spawn, or the
// ids RunAs asked for).
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// as is whom the child runs as; nil is initd's own user.
var as *user.ID

// RunAs makes every later Start run its command as id, in place of
// initd's own user, on every path: the supplementary groups, the gid and
// the uid are set in the child in that order, after its process group and
// the terminal and before the exec. A child that cannot take them fails
// with an Error of status exitstatus.Setup naming the step, and never runs
// the command. Call it before Start, from the goroutine that calls Start.
func RunAs(id *user.ID) { as = id }

// Start starts argv in a new process group, in the terminal's foreground
// when stdin is initd's controlling terminal. Working directory,
// environment, standard descriptors and descriptors without close-on-exec
// pass through unchanged; the one exception is socket activation (see
// listenPidIndex). It also returns a pidfd of the child (CLONE_PIDFD,
// Linux 5.3+), or -1 where the kernel gives none or no descriptor is left
// for one; the caller owns it. When the command cannot start, a
// terminal's foreground goes back to the group that held it, and the
// Error says why and with which status initd exits.
func Start(argv []string, env []string) (pid, pidfd int, e *Error) {
	f := &forker{env: env, pidfd: -1}
	f.attr.Sys = &syscall.SysProcAttr{Setpgid: true}
	f.attr.Files = []uintptr{0, 1, 2}
	f.attr.Sys.PidFD = &f.pidfd
	if as != nil {
		f.cred = &syscall.Credential{Uid: as.Uid, Gid: as.Gid, Groups: as.Groups}
		f.attr.Sys.Credential = f.cred
	}
	// Asking for the foreground when stdin is not our controlling terminal
	// makes the spawn fail with ENOTTY, so only ask when TIOCGPGRP works.
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err == nil {
		f.attr.Sys.Foreground, f.attr.Sys.Ctty = true, 0
	}
	f.argv = argv
	if i := listenPidIndex(env); i >= 0 {
		err = f.startActivated(i)
	} else {
		err = search(argv[0], env, f.try)
	}
	if f.err != nil {
		err = f.err
	}
	if err != nil {
		if f.attr.Sys.Foreground {
			giveBack(fg)
		}
		if e, ok := err.(*Error); ok {
			return 0, -1, e
		}
		return 0, -1, &Error{exitstatus.Setup, "cannot start " + argv[0] + ": " + err.Error()}
	}
	return f.pid, f.pidfd, nil
}

// giveBack hands the terminal's foreground back to group pgrp, away from
// the group of a child that failed before it could run the command: left
// there, it would keep the shell that started initd from its terminal.
// From a background group the kernel answers TIOCSPGRP with SIGTTOU,
// which initd catches and drops, and the call restarts, for ever; with
// SIGTTOU blocked it just works. The mask is the calling thread's, locked
// to this call, and every fork is over by now, so no child inherits it.
func giveBack(pgrp int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ttou, old unix.Sigset_t
	ttou.Val[0] = 1 << (unix.SIGTTOU - 1)
	unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old)
	unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, pgrp)
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
}

// forker forks one candidate of the search at a time.
type forker struct {
	argv, env []string
	attr      syscall.ProcAttr
	cred      *syscall.Credential // nil: initd's own ids
	pid       int
	pidfd     int
	noPipe    bool  // the limit on descriptors left no room for ForkExec's pipe
	err       error // a failure that is not the command's: it ends the search
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
	return f.fork(path)
}

func (f *forker) fork(path string) syscall.Errno {
	if !f.noPipe {
		pid, err := syscall.ForkExec(path, f.argv, &syscall.ProcAttr{Env: f.env, Files: f.attr.Files, Sys: f.attr.Sys})
		if err == nil {
			f.pid = pid
			return 0
		}
		errno, _ := err.(syscall.Errno)
		if errno == syscall.EINVAL && f.attr.Sys.PidFD != nil {
			// CLONE_PIDFD refused: qemu-user refuses it, for one. A
			// pidfd is optional.
			f.attr.Sys.PidFD, f.pidfd = nil, -1
			return f.fork(path)
		}
		if errno != syscall.EMFILE && errno != syscall.ENFILE {
			if f.cred != nil && credErrno(errno) {
				// ForkExec's pipe carries an errno but not the step
				// that failed: ask a raw fork, which tells.
				f.diagnose()
			}
			return errno
		}
		// The pipe or the pidfd found no free descriptor. A pidfd is
		// optional; without one only the pipe is left to do without.
		if f.attr.Sys.PidFD != nil {
			f.attr.Sys.PidFD, f.pidfd = nil, -1
			return f.fork(path)
		}
		f.noPipe = true
	}
	// No pidfd: it would take the descriptor the child may need, and
	// initd's poller would find none for itself.
	res, errno := forkRaw(&rawChild{paths: []string{path}, argv: f.argv, env: f.env, listenPid: -1, foreground: f.attr.Sys.Foreground, cred: f.cred})
	if errno != 0 {
		return errno
	}
	return f.outcome(&res)
}

// outcome takes what a raw fork gave for a single candidate.
func (f *forker) outcome(res *rawResult) syscall.Errno {
	switch {
	case res.step == stepNone:
		f.pid, f.pidfd = res.pid, res.pidfd
		return 0
	case res.step == stepExec && len(res.tried) > 0:
		return res.tried[len(res.tried)-1]
	case res.credFailed():
		f.err = f.credError(res)
	}
	return res.errno
}

// credErrno reports whether errno is one that setgroups(2), setgid(2) or
// setuid(2) can give.
func credErrno(errno syscall.Errno) bool {
	switch errno {
	case syscall.EPERM, syscall.EINVAL, syscall.EAGAIN, syscall.ENOMEM:
		return true
	}
	return false
}

// diagnose tells whether the ids are what failed, with a raw fork that
// takes them and then executes nothing.
func (f *forker) diagnose() {
	res, errno := forkRaw(&rawChild{paths: []string{""}, argv: f.argv, env: f.env, listenPid: -1, cred: f.cred})
	if errno == 0 && res.credFailed() {
		f.err = f.credError(&res)
	}
}

// credError names the call that failed in res.
func (f *forker) credError(res *rawResult) error {
	return &Error{exitstatus.Setup, "cannot start " + f.argv[0] + " as user " + strconv.Quote(as.Spec) + ": " + stepCall[res.step] + ": " + res.errno.Error()}
}

// listenPidIndex returns the index of the LISTEN_PID entry of env when it
// holds initd's pid, or -1. As getenv(3) does, the first LISTEN_PID
// counts.
//
// Socket activation (sd_listen_fds(3)): a service manager that hands
// sockets to initd sets LISTEN_PID to initd's pid, and a child that finds
// another pid there ignores the sockets. So the child gets its own pid
// there, set by the child itself (see forkRaw); LISTEN_FDS, LISTEN_FDNAMES
// and the descriptors pass through untouched.
func listenPidIndex(env []string) int {
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LISTEN_PID="); ok {
			if v == strconv.Itoa(os.Getpid()) {
				return i
			}
			return -1
		}
	}
	return -1
}

// startActivated starts the command with LISTEN_PID, env[listenPid], set
// to the child's pid: one raw fork whose child tries every candidate of
// the search. Nothing of the environment goes anywhere but the child's
// own environment.
func (f *forker) startActivated(listenPid int) error {
	var paths []string
	err := search(f.argv[0], f.env, func(p string) syscall.Errno {
		paths = append(paths, p)
		return syscall.ENOENT
	})
	if len(paths) == 0 {
		return err // no candidate at all: an empty name or PATH
	}
	c := &rawChild{paths: paths, argv: f.argv, env: f.env, listenPid: listenPid, foreground: f.attr.Sys.Foreground, cred: f.cred}
	// A pidfd where three descriptors are free, as for ForkExec's pipe
	// and pidfd: after it the poller still finds the two it needs.
	c.pidfd = spare3()
	res, errno := forkRaw(c)
	if errno == syscall.EINVAL || errno == syscall.EMFILE || errno == syscall.ENFILE {
		if c.pidfd {
			c.pidfd = false
			res, errno = forkRaw(c)
		}
	}
	if errno != 0 {
		return explain(paths[0], errno)
	}
	if res.step == stepNone {
		f.pid, f.pidfd = res.pid, res.pidfd
		return nil
	}
	if res.credFailed() {
		return f.credError(&res)
	}
	tried := res.tried
	if res.step != stepExec {
		// The process group or the terminal: reported as the first
		// candidate's failure, as ForkExec reports it.
		tried = []syscall.Errno{res.errno}
	}
	// Replay the search over what the child's execve calls gave.
	return search(f.argv[0], f.env, func(string) syscall.Errno {
		if len(tried) == 0 {
			return syscall.ENOENT
		}
		errno := tried[0]
		tried = tried[1:]
		return errno
	})
}

// spare3 reports whether three more descriptors can be open at once.
func spare3() bool {
	ok := true
	var fds [3]int
	for i := range fds {
		fds[i], _ = unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 0)
		ok = ok && fds[i] >= 0
	}
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return ok
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
