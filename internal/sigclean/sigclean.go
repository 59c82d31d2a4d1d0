// Package sigclean makes a harness start what it measures (initd, the peer
// inits, their helper children) with every signal at its default
// disposition and none blocked, whatever launched the harness.
//
// A Go process passes two things of its own start on to the children it
// starts, with os/exec and syscall.ForkExec alike:
//   - SIGHUP and SIGINT stay SIG_IGN when they were ignored at start
//     (nohup, a shell's background job): the runtime respects those two
//     inherited ignores and installs no handler, and exec keeps an ignore.
//     Every other signal has the runtime's handler, which a fork resets to
//     the default.
//   - a signal blocked at start that the runtime lets stay blocked (USR1,
//     USR2, PIPE, WINCH, ALRM, the real-time ones...; not TERM, HUP, INT,
//     QUIT or CHLD, which it unblocks) stays blocked on every thread, and a
//     child gets the mask of the thread that forked it.
//
// initd rightly keeps an inherited ignore and gives its child the signals
// it was given, so under nohup "SIGHUP forwarded" would measure nohup.
package sigclean

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Launcher makes this process a clean launcher. Call it in the main or
// TestMain of a process that starts inits, after the dispatch to helper
// roles (a helper must see exactly what the init gave it), before anything
// is started.
//
// A blocked mask cannot be undone for the threads the runtime already has
// or will make, so Launcher re-executes the process from a thread with an
// empty mask, once, and only when this thread (and so every thread) has a
// signal blocked: it does not return then. An ignored signal is given a
// handler for the life of the process instead (signal.Notify on a channel
// nobody reads; Notify never blocks on a full channel): the process still
// shrugs the signal off as its launcher wanted, and its children get the
// default, since a caught signal reverts to it across exec.
func Launcher() {
	runtime.LockOSThread()
	var mask, empty unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, nil, &mask); err != nil {
		fail("reading the signal mask", err)
	}
	if mask != empty {
		if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil); err != nil {
			fail("clearing the signal mask", err)
		}
		exe, err := os.Executable()
		if err != nil {
			fail("finding this executable", err)
		}
		// exec keeps the calling thread's mask, now empty, and the
		// ignores, which the new image turns into handlers below.
		fail("re-executing with an empty signal mask", syscall.Exec(exe, os.Args, os.Environ()))
	}
	runtime.UnlockOSThread()
	var ignored []os.Signal
	for n := syscall.Signal(1); n <= 64; n++ {
		if n != syscall.SIGKILL && n != syscall.SIGSTOP && signal.Ignored(n) {
			ignored = append(ignored, n)
		}
	}
	if len(ignored) > 0 {
		signal.Notify(make(chan os.Signal, 1), ignored...)
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "sigclean: %s: %v\n", what, err)
	os.Exit(2)
}
