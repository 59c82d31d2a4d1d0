package demo

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"
)

// Every program of this module (the demo command and the test binaries,
// none of which runs as a helper child) starts the engines, inits and
// shells it compares with default signal dispositions and an empty mask,
// whatever launched it: see cleanLauncher.
func init() { cleanLauncher() }

// cleanLauncher undoes what a Go process would otherwise pass on of its
// own start to every child, os/exec and syscall.ForkExec alike (the root
// module's internal/sigclean does the same for its harnesses):
//   - SIGHUP and SIGINT stay SIG_IGN when they were ignored at start
//     (nohup, a shell's background job): the runtime respects those two
//     inherited ignores, and exec keeps an ignore. An initd started that
//     way rightly keeps ignoring them, and the run would measure nohup.
//   - a signal blocked at start that the runtime lets stay blocked (USR1,
//     USR2, PIPE, WINCH, ALRM, ...) stays blocked on every thread, and a
//     child gets the mask of the thread that forked it.
//
// A blocked mask cannot be undone for the runtime's threads, so the
// process re-executes itself, once, from a thread with an empty mask, and
// only when one is blocked. An ignored signal gets a handler for the life
// of the process (signal.Notify on a channel nobody reads, which never
// blocks): the process still shrugs it off, and its children get the
// default, since a caught signal reverts to it across exec.
func cleanLauncher() {
	runtime.LockOSThread()
	var mask, empty uint64
	// rt_sigprocmask(SIG_BLOCK, NULL, &mask): read this thread's mask.
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0, 0, uintptr(unsafe.Pointer(&mask)), 8, 0, 0); e != 0 {
		launcherFail("reading the signal mask", e)
	}
	if mask != 0 {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&empty)), 0, 8, 0, 0); e != 0 {
			launcherFail("clearing the signal mask", e)
		}
		exe, err := os.Executable()
		if err != nil {
			launcherFail("finding this executable", err)
		}
		launcherFail("re-executing with an empty signal mask", syscall.Exec(exe, os.Args, os.Environ()))
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

func launcherFail(what string, err error) {
	fmt.Fprintf(os.Stderr, "demo: %s: %v\n", what, err)
	os.Exit(2)
}
