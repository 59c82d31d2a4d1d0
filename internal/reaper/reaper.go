// Package reaper collects exited children.
//
// # Ownership
//
// Exactly one goroutine may call Reap: wait4(-1) takes the status of any
// child, so a second waiter (os/exec's Cmd.Wait, another Reap) would steal
// statuses from the first. Because the caller that reaps is also the one
// that signals, it can guarantee that no pid is signalled after it was
// reaped and reused.
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
		exits = append(exits, Exit{pid, ws})
	}
}

// SetSubreaper registers the calling process as a child subreaper, so that
// orphaned descendants are re-parented to it instead of to PID 1.
func SetSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
