// Command floor is the least a Go PID 1 must do, the reference that
// bench/perf measures initd against: whatever initd costs beyond it is
// initd's, and the rest is Go's. It subscribes to the signals initd
// subscribes to, starts the child in a process group of its own, forwards
// every signal it receives to that group, reaps with wait4 on SIGCHLD and
// exits with the main child's status (128+n for a signal), as soon as the
// main child is gone: no drain, no /proc, no pidfd, no options.
//
//	floor -- /path/to/command [args...]
//
// "make floor" builds it with the flags "make build" gives initd, so that
// the two differ only in their code. It also builds floor-early, which
// subscribes in the first package initialised instead of in main (build
// tag early; see package subscribe), for bench/firstms.
package main

import (
	"os"
	"syscall"

	"github.com/initd/initd/bench/floor/internal/subscribe"
)

func main() {
	sub := subscribe.Early
	if sub == nil {
		sub = subscribe.Now()
	}
	if len(os.Args) < 3 || os.Args[1] != "--" {
		os.Stderr.WriteString("usage: floor -- /path/to/command [args...]\n")
		os.Exit(2)
	}
	argv := os.Args[2:]
	// No PATH search: the benchmark names every command by its path.
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		os.Stderr.WriteString("floor: " + argv[0] + ": " + err.Error() + "\n")
		if err == syscall.ENOENT {
			os.Exit(127)
		}
		os.Exit(126)
	}
	for {
		select {
		case s := <-sub.Sigs:
			// The group's id is the child's pid (Setpgid); a failure
			// (the group is gone) leaves nothing to do.
			syscall.Kill(-pid, s.(syscall.Signal))
		case <-sub.Chld:
			for {
				var ws syscall.WaitStatus
				p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if err == syscall.EINTR {
					continue
				}
				if p <= 0 {
					break
				}
				if p == pid {
					os.Exit(status(ws))
				}
			}
		}
	}
}

// status is the shell's view of a wait status, as initd reports it.
func status(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
