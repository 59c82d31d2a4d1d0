// Package reaper collects exited children, or lets the kernel release them.
//
// # Ownership
//
// Exactly one goroutine may call Reap: wait4(-1) takes the status of any
// child, so a second waiter (os/exec's Cmd.Wait, another Reap) would steal
// statuses from the first. Because the caller that reaps is also the one
// that signals, it can guarantee that no pid is signalled after it was
// reaped and reused.
//
// # Kernel reaping
//
// With SIGCHLD set to SIG_IGN, the kernel releases every child of initd
// the moment it exits, orphans re-parented to initd included: no zombie
// exists, no SIGCHLD is sent, initd is not woken. Only the main child's
// status matters, and a pidfd gives it: the pidfd turns readable when the
// child exits, and PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux 6.15+)
// returns its wait status even after the kernel released it.
//
// The SIG_IGN is set after the child is forked, so the child never
// inherits it, and with a raw rt_sigaction, because os/signal has no way to
// set SIG_IGN for a signal it handles and signal.Ignore would be inherited.
// Going back (for the drain after the main child exits) restores the
// action saved then: Go's own handler, which os/signal does not reinstall
// by itself since it believes it is still in place.
//
// KernelReapSupported says whether the running kernel can do this; the
// caller must not ignore SIGCHLD otherwise, or the main child's status is
// lost. IgnoreChildren, Restore and ExitOf belong to the same goroutine
// that calls Reap.
//
// # Subreaper
//
// A process that is not PID 1 only inherits orphans if it is registered as
// a child subreaper; SetSubreaper does that. Without it, orphaned
// grandchildren go to the namespace's PID 1 and escape initd entirely.
package reaper

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit is one collected child.
type Exit struct {
	Pid    int
	Status syscall.WaitStatus
	// Lost: the kernel released the child and its status could not be
	// read back (ExitOf failed); Status means nothing.
	Lost bool
}

// Reap collects every child that has exited and returns them, in the order
// collected, without blocking. left is false when initd has no children at
// all (ECHILD), which means nothing is left to wait for. Stopped and
// continued children are not reported. buf is reused for the result, so
// that a storm of orphans does not allocate per reap.
func Reap(buf []Exit) (exits []Exit, left bool) {
	exits = buf[:0]
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil: // ECHILD: no children at all
			return exits, false
		case pid == 0: // children exist, none has exited
			return exits, true
		}
		exits = append(exits, Exit{Pid: pid, Status: ws})
	}
}

// SetSubreaper registers the calling process as a child subreaper, so that
// orphaned descendants are re-parented to it instead of to PID 1.
func SetSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
