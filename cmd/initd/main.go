// Command initd is a minimal init for containers: it runs one command as
// its child, forwards signals to it, reaps zombies and exits with the
// child's status. See the README or "initd --help".
package main

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/initd/initd"
	"github.com/initd/initd/internal/config"
	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/lifecycle"
	"github.com/initd/initd/internal/spawn"
	"github.com/initd/initd/internal/supervisor"
	"github.com/initd/initd/internal/user"
)

func main() {
	// First, so that a stop signal in the first millisecond waits for the
	// child instead of killing initd (see supervisor.Subscription); it
	// also leaves initd with one P.
	sub := supervisor.Subscribe()
	// Descriptors 0, 1 and 2 are open: since Go 1.22 the runtime opens
	// /dev/null on any that is closed before main runs (and aborts with
	// "cannot open standard fds" if it cannot), so neither initd's files
	// nor the child's can land on them.

	log := &supervisor.Log{}
	cfg, err := config.Parse(os.Args[1:], os.Getenv)
	if err != nil {
		log.Error(err.Error())
		log.Error("usage: initd [options] [--] command [args...]; see initd --help")
		os.Exit(exitstatus.Usage)
	}
	switch cfg.Action {
	case config.Help:
		supervisor.Stdout(config.Usage)
		return
	case config.Version:
		supervisor.Stdout(initd.VersionLine() + "\n")
		return
	case config.License:
		supervisor.Stdout(initd.License)
		return
	}
	log.Verbosity = cfg.Verbosity

	env := spawn.Environ()
	if cfg.User != "" {
		id, err := user.Resolve(cfg.User)
		if err != nil {
			log.Error(err.Error())
			os.Exit(cfg.Remap.Apply(exitstatus.Setup))
		}
		env = id.Environ(env)
		spawn.RunAs(id)
	}
	if cfg.Pdeath != 0 {
		setPdeath(cfg.Pdeath, log)
	}
	code := supervisor.Run(&supervisor.Options{
		Argv: cfg.Command,
		Env:  env,
		Lifecycle: lifecycle.Config{
			Pause:       cfg.Pause,
			SingleChild: cfg.SingleChild,
			Grace:       cfg.Grace,
			KillAfter:   cfg.KillAfter,
			StopDelay:   cfg.StopDelay,
			Stop:        cfg.Stop,
			Policy: forward.Policy{
				Rules:      cfg.Rewrite,
				ForwardURG: initd.AsyncPreemptOff(os.Getenv("GODEBUG")),
			},
			Shell:       cfg.Shell,
			ReportShell: cfg.ReportShell,
			WarnReap:    cfg.WarnReap,
			Verbosity:   cfg.Verbosity,
		},
		Reap: cfg.Reap,
		Log:  log,
	}, sub)
	os.Exit(cfg.Remap.Apply(code))
}

// setPdeath asks the kernel to send sig to initd when its parent dies. The
// setting belongs to the calling thread, so the main goroutine stays locked
// to it for the life of the process. A parent that died before the prctl
// is caught by comparing the parent pid afterwards.
func setPdeath(sig syscall.Signal, log *supervisor.Log) {
	runtime.LockOSThread()
	ppid := os.Getppid()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		log.Error("cannot set the parent-death signal: ", err.Error())
		return
	}
	if os.Getppid() != ppid {
		syscall.Kill(os.Getpid(), sig)
	}
}
