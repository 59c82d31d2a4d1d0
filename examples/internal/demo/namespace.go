package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NSVariant is one row of the namespace mode: a command line run as PID 1
// of a fresh PID namespace, in the directory that holds trap.sh.
type NSVariant struct {
	Name string
	Argv []string
}

// lockedBuffer collects a process's output while the demo polls it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NamespaceUsable says why namespace mode cannot run here, or nil.
func NamespaceUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("creating PID and mount namespaces needs root")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		return errors.New("mount(8) not found")
	}
	// Try it once: containers and seccomp profiles often forbid it.
	cmd := nsCommand([]string{"true"})
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot create a PID namespace: %v %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// nsCommand makes a command that runs argv as PID 1 of a new PID namespace
// with its own /proc: what "unshare --pid --fork --mount-proc" does, except
// that the demo itself is the parent of the namespace's PID 1, so it can
// signal that process directly and read its real exit status (unshare
// reports a child killed by a signal as a plain exit 1). The mount
// namespace is made private by Go (Unshareflags CLONE_NEWNS); the tiny
// shell mounts /proc and then execs argv, which keeps PID 1.
func nsCommand(argv []string) *exec.Cmd {
	args := append([]string{"-c", `mount -t proc proc /proc && exec "$@"`, "pid1"}, argv...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS,
		// Own process group: a Ctrl-C meant for the demo must not reach
		// the variants, or the comparison would be about the terminal.
		Setpgid: true,
		// If the demo dies, the namespace dies with it (killing PID 1
		// kills every process in its namespace).
		Pdeathsig: syscall.SIGKILL,
	}
	return cmd
}

// RunNamespace starts v in a new PID namespace in dir, waits until trap.sh
// has started, then stops it like "docker stop -t timeout": SIGTERM to PID
// 1, SIGKILL if it is still there after timeout.
func RunNamespace(ctx context.Context, dir string, v NSVariant, timeout time.Duration) Outcome {
	o := Outcome{Variant: v.Name}
	cmd := nsCommand(v.Argv)
	cmd.Dir = dir
	err := runAndStop(ctx, &o, cmd, "", timeout,
		func() error {
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
				return fmt.Errorf("SIGTERM to PID 1 (host PID %d): %v", cmd.Process.Pid, err)
			}
			return nil
		},
		func(context.Context) { syscall.Kill(cmd.Process.Pid, syscall.SIGKILL) })
	if o.Err == nil {
		o.Exit, o.Err = exitStatus(cmd.ProcessState, err)
	}
	return o
}

// runAndStop starts cmd with its output going to o.Output, waits until
// trap.sh has started, stops it with term, and with kill if it is still
// running after timeout, and sets o.PID and o.Stop, or o.Err. When o.Err
// is nil it returns what cmd.Wait returned, for the caller to read the
// exit status from. what names cmd in an error ("ctr run"), or is "".
// Whatever happens, nothing outlives this function: kill, given
// context.Background(), ends cmd on an early return.
func runAndStop(ctx context.Context, o *Outcome, cmd *exec.Cmd, what string, timeout time.Duration, term func() error, kill func(context.Context)) error {
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		o.Err = err
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	finished := false
	defer func() {
		if !finished {
			kill(context.Background())
			<-done
		}
		o.Output = out.String()
	}()

	early := "exited before trap.sh started"
	if what != "" {
		early = what + " " + early
	}
	if err := waitStarted(ctx, out.String, func() bool {
		select {
		case err := <-done:
			finished = true
			o.Err = fmt.Errorf("%s (%v): %s", early, err, strings.TrimSpace(out.String()))
			return true
		default:
			return false
		}
	}); err != nil {
		if o.Err == nil {
			o.Err = err
		}
		return nil
	}
	o.PID = ParsePID(out.String())

	start := time.Now()
	if err := term(); err != nil {
		o.Err = err
		return nil
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		kill(ctx)
		err = <-done
	case <-ctx.Done():
		o.Err = ctx.Err()
		return nil
	}
	finished = true
	o.Stop = time.Since(start)
	return err
}

// exitStatus turns a wait result into a shell-style status: the exit code,
// or 128+n for death by signal n, as docker inspect reports it.
func exitStatus(ps *os.ProcessState, err error) (int, error) {
	if ps == nil {
		return 0, err
	}
	ws := ps.Sys().(syscall.WaitStatus)
	switch {
	case ws.Exited():
		return ws.ExitStatus(), nil
	case ws.Signaled():
		return 128 + int(ws.Signal()), nil
	}
	return 0, fmt.Errorf("unexpected wait status %v", ws)
}

// settle is how long the demo waits after trap.sh's first line before it
// stops the variant: trap.sh prints that line before it installs its
// traps, and a stop that arrived in between would be a different test.
const settle = 500 * time.Millisecond

// waitStarted polls output until trap.sh's start line appears; gone is
// checked on every round and ends the wait early if the process died.
func waitStarted(ctx context.Context, output func() string, gone func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(output(), LineStart) {
		if gone() {
			return errors.New("exited before trap.sh started")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("trap.sh did not start within 30 s; output so far: %q", output())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settle):
	}
	return nil
}
