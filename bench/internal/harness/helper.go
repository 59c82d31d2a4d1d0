package harness

import (
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/sigclean"
)

// HelperArg as the first argument makes a bench binary act as one of the
// helper children below instead of running the bench (the helper-process
// pattern of os/exec's tests): one binary, no compiler needed at run time.
const HelperArg = "-initd-bench-helper"

// Helper is the command line that runs the helper role with args.
func Helper(role string, args ...string) []string {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{self, HelperArg, role}, args...)
}

// RunHelper acts as a helper and exits if the process was started as one;
// otherwise it makes the process a clean launcher and returns: the inits
// and helpers it starts get every signal at its default and none blocked,
// whatever started the bench (nohup, a shell's background job, a parent
// with signals blocked; see package sigclean), while a helper keeps what
// the init gave it. Call it first in main and TestMain.
func RunHelper() {
	if len(os.Args) < 3 || os.Args[1] != HelperArg {
		sigclean.Launcher()
		return
	}
	role, args := os.Args[2], os.Args[3:]
	switch role {
	case "mountproc":
		mountProc(args)
	case "exit":
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	case "killself":
		n, _ := strconv.Atoi(args[0])
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(time.Second)
		os.Exit(99)
	case "record":
		record(args[0])
	case "group":
		// The grandchild stays in this process's group: it is reached
		// only by an init that signals the whole group.
		startHelper(false, "record", args[1])
		waitFile(args[1])
		record(args[0])
	case "orphans":
		n, _ := strconv.Atoi(args[0])
		if len(args) > 2 {
			// Wait for the bench to say go, so that the init's CPU can be
			// read after start-up and before the first orphan.
			f, err := os.Open(args[2])
			if err != nil {
				os.Exit(3)
			}
			f.Read(make([]byte, 1))
		}
		Orphans(n)
		os.WriteFile(args[1], []byte("done\n"), 0o644)
		for {
			time.Sleep(time.Hour)
		}
	case "leftover":
		// A daemon in a session of its own (out of reach of group
		// forwarding) that needs half a second to stop; the main child
		// exits as soon as the daemon is ready.
		startHelper(true, "daemon", args[0])
		waitFile(args[0] + ".ready")
		os.Exit(0)
	case "daemon":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		os.WriteFile(args[0]+".ready", nil, 0o644)
		<-c
		time.Sleep(500 * time.Millisecond)
		os.WriteFile(args[0], []byte("done\n"), 0o644)
		os.Exit(0)
	case "escape":
		// The stray is orphaned while this main child still runs, so it
		// shows whom the init's tree re-parents it to; the main child
		// exits once the stray has looked.
		startHelper(false, "fork-stray", args[0])
		waitFile(args[0] + ".ppid")
		os.Exit(0)
	case "fork-stray":
		startHelper(true, "stray", args[0])
		os.Exit(0)
	case "stray":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		// Wait until the parent (fork-stray) has exited and the kernel
		// has re-parented this process; a fixed sleep raced with a slow
		// parent on a loaded machine.
		parent := os.Getppid()
		for deadline := time.Now().Add(5 * time.Second); os.Getppid() == parent && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		os.WriteFile(args[0]+".ppid", []byte(strconv.Itoa(os.Getppid())), 0o644)
		select {
		case <-c:
			os.WriteFile(args[0]+".term", nil, 0o644)
		case <-time.After(2 * time.Second):
		}
		os.Exit(0)
	case "acker":
		acker(args[0])
	case "sigcount":
		n, _ := strconv.Atoi(args[0])
		sigcount(syscall.Signal(n), args[1])
	default:
		os.Stderr.WriteString("unknown helper role " + role + "\n")
		os.Exit(2)
	}
	os.Exit(0)
}

func startHelper(setsid bool, role string, args ...string) {
	argv := Helper(role, args...)
	_, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Setsid: setsid},
	})
	if err != nil {
		os.Stderr.WriteString("helper: " + err.Error() + "\n")
		os.Exit(3)
	}
}

func waitFile(name string) {
	Poll(10*time.Second, time.Millisecond, func() bool {
		_, err := os.Stat(name)
		return err == nil
	})
}

// mountProc gives the new mount namespace its own /proc (private, so
// nothing propagates back to the host) and execs the init, which keeps
// PID 1. Leading "-ign=N" arguments set signal N to SIG_IGN first, which
// the exec keeps.
func mountProc(argv []string) {
	for len(argv) > 0 && strings.HasPrefix(argv[0], "-ign=") {
		n, _ := strconv.Atoi(strings.TrimPrefix(argv[0], "-ign="))
		signal.Ignore(syscall.Signal(n))
		argv = argv[1:]
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		os.Stderr.WriteString("mountproc: " + err.Error() + "\n")
		os.Exit(125)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		os.Stderr.WriteString("mountproc: " + err.Error() + "\n")
		os.Exit(125)
	}
	err := syscall.Exec(argv[0], argv, os.Environ())
	os.Stderr.WriteString("mountproc: exec " + argv[0] + ": " + err.Error() + "\n")
	os.Exit(125)
}

// Recordable are the signals a Go child can be told about and that mean
// something when forwarded: everything but KILL, STOP, CHLD (the helper's
// own children), URG (the runtime's preemption) and those the runtime
// keeps (PROF, 32, 33, 34).
func Recordable() []syscall.Signal {
	var s []syscall.Signal
	for n := syscall.Signal(1); n <= 64; n++ {
		switch n {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPROF, 32, 33, 34:
			continue
		}
		s = append(s, n)
	}
	return s
}

// record appends "ready" and then the number of every signal it receives
// to file, one per line, and never exits on its own.
func record(file string) {
	c := make(chan os.Signal, 64)
	for _, s := range Recordable() {
		signal.Notify(c, s)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		os.Exit(3)
	}
	f.WriteString("ready\n")
	for s := range c {
		f.WriteString(strconv.Itoa(int(s.(syscall.Signal))) + "\n")
	}
}

// sigcount counts every instance of sig that reaches it, queued real-time
// instances one by one, and keeps the count in file ("ready" first, then
// the number). Go's os/signal merges repeats, so the helper blocks sig on
// the thread that re-executes it: the new process's threads all start with
// that mask (the runtime keeps a blockable signal blocked), and a signalfd
// reads each queued instance as a record of its own.
func sigcount(sig syscall.Signal, file string) {
	var set unix.Sigset_t
	set.Val[(sig-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	if os.Getenv("INITD_BENCH_SIGCOUNT") != "blocked" {
		runtime.LockOSThread()
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
			os.Exit(3)
		}
		self, _ := os.Executable()
		env := append(os.Environ(), "INITD_BENCH_SIGCOUNT=blocked")
		syscall.Exec(self, os.Args, env)
		os.Exit(3)
	}
	fd, err := unix.Signalfd(-1, &set, unix.SFD_CLOEXEC)
	if err != nil {
		os.Exit(3)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		os.Exit(3)
	}
	f.WriteString("ready\n")
	buf := make([]byte, 128*64)
	n := 0
	for {
		k, err := unix.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			os.Exit(3)
		}
		n += k / 128
		f.WriteAt([]byte(strconv.Itoa(n)+"\n      "), 0)
	}
}

// acker writes one byte to the FIFO for every SIGUSR1: the far end of the
// signal round trip.
func acker(fifo string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGTERM)
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		os.Exit(3)
	}
	b := []byte{'.'}
	f.Write(b) // ready: the handler is in place
	for s := range c {
		if s == syscall.SIGTERM {
			os.Exit(0)
		}
		f.Write(b)
	}
}

// Orphans makes n orphans by double forking: a child forks a grandchild
// and both exit at once, so the grandchild's zombie is re-parented to the
// nearest reaper (PID 1 or a subreaper). The forks are raw clone calls from
// a locked thread: the copies run nothing but exit_group, so the Go
// runtime's state in them never matters, and this makes orphans far faster
// than a shell could.
func Orphans(n int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; i < n; i++ {
		pid := rawFork()
		if pid == 0 {
			rawFork()
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
		if pid < 0 {
			time.Sleep(time.Millisecond) // EAGAIN: let the reaper catch up
			i--
			continue
		}
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
	}
}

// rawFork must not grow its stack: in the copy, the runtime is not to be
// entered.
//
//go:nosplit
func rawFork() int {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return -1
	}
	return int(r)
}
