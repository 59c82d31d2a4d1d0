// Package reaper collects exited children and decodes their statuses.
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

// Reap collects every child that has exited, calling found for each, and
// returns without blocking when none is left to collect. children is false
// when initd has no children at all (ECHILD), which means nothing is left
// to wait for. Stopped and continued children are not reported.
func Reap(found func(pid int, ws syscall.WaitStatus)) (children bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil: // ECHILD: no children at all
			return false
		case pid == 0: // children exist, none has exited
			return true
		}
		found(pid, ws)
	}
}

// ExitCode converts a wait status into a shell-style exit code: the exit
// status, or 128+n for a process killed by signal n.
func ExitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	// Stopped or continued statuses are never asked for (no WUNTRACED),
	// so this is unreachable short of a kernel change.
	return 128 + int(ws.StopSignal())
}

// SetSubreaper registers the calling process as a child subreaper, so that
// orphaned descendants are re-parented to it instead of to PID 1.
func SetSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
