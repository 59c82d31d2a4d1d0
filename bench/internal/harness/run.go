package harness

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Mode says where an init runs.
type Mode int

const (
	// Plain runs the init as an ordinary child of the bench: not PID 1.
	Plain Mode = iota
	// PID1 runs it as PID 1 of a new PID namespace (clone with
	// CLONE_NEWPID), with no /proc of its own. This is the cheapest way to
	// be PID 1 and what start-up, shutdown and reaping are timed with.
	PID1
	// PID1Proc is PID1 plus a new mount namespace with its own /proc, as
	// `unshare --pid --fork --mount-proc` and container engines give: a
	// helper mounts /proc and then execs the init, so the init is still
	// PID 1. The behaviour scenarios use it.
	PID1Proc
	// PlainProc is Plain in a new mount namespace with its own /proc
	// mount: the direct run's counterpart of PID1Proc, so that both pay
	// for a mount namespace.
	PlainProc
)

// Proc is a started init (or direct child).
type Proc struct {
	Pid   int
	Start time.Time
	done  chan struct{}
	ws    syscall.WaitStatus
	ru    syscall.Rusage
	end   time.Time
}

// Options for Start.
type Options struct {
	Mode  Mode
	Dir   string   // working directory; empty is the bench's
	Env   []string // nil is the bench's environment
	Files []uintptr
	// Ignore are signals the init is started with set to SIG_IGN, as
	// nohup or a shell's background job would leave them (PID1Proc only).
	Ignore []syscall.Signal
}

// Start runs argv in the given mode. The caller must Wait (or Kill, then
// Wait) for it.
func Start(argv []string, o Options) (*Proc, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	files := o.Files
	if files == nil {
		files = []uintptr{0, 1, 2}
	}
	sys := &syscall.SysProcAttr{}
	path := argv[0]
	switch o.Mode {
	case PID1:
		sys.Cloneflags = syscall.CLONE_NEWPID
	case PID1Proc, PlainProc:
		sys.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
		if o.Mode == PlainProc {
			sys.Cloneflags = syscall.CLONE_NEWNS
		}
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		pre := []string{self, HelperArg, "mountproc"}
		for _, sig := range o.Ignore {
			pre = append(pre, "-ign="+strconv.Itoa(int(sig)))
		}
		argv = append(pre, argv...)
		path = self
	default:
		if len(o.Ignore) > 0 {
			return nil, errors.New("Options.Ignore needs PID1Proc or PlainProc")
		}
	}
	p := &Proc{done: make(chan struct{}), Start: time.Now()}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Dir: o.Dir, Env: env, Files: files, Sys: sys})
	if err != nil {
		return nil, err
	}
	p.Pid = pid
	go func() {
		for {
			_, err := syscall.Wait4(pid, &p.ws, 0, &p.ru)
			if err != syscall.EINTR {
				break
			}
		}
		p.end = time.Now()
		close(p.done)
	}()
	return p, nil
}

// Namespaces reports why PID namespaces cannot be used here, or nil.
func Namespaces() error {
	p, err := Start([]string{"/bin/true"}, Options{Mode: PID1})
	if err != nil {
		return errors.New("cannot create a PID namespace (needs root or user namespaces): " + err.Error())
	}
	p.Wait()
	return nil
}

// Wait waits for the process and returns its shell-style exit code.
func (p *Proc) Wait() int {
	<-p.done
	return ExitCode(p.ws)
}

// WaitTimeout is Wait with a limit; ok is false if it did not exit in time.
func (p *Proc) WaitTimeout(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return ExitCode(p.ws), true
	case <-time.After(d):
		return 0, false
	}
}

// Done is closed when the process has been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Ended is when the process was reaped.
func (p *Proc) Ended() time.Time { <-p.done; return p.end }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid, sig) }

// Kill ends the process with SIGKILL and waits for it. As PID 1 this takes
// the whole namespace with it; otherwise whatever it left behind is found
// by the caller's subreaper.
func (p *Proc) Kill() {
	syscall.Kill(p.Pid, syscall.SIGKILL)
	<-p.done
}

// ExitCode is the shell's view of a wait status: the exit code, or 128+n.
func ExitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Poll calls cond every interval until it is true or d has passed.
func Poll(d, interval time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(interval)
	}
}
