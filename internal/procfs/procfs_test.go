package procfs

import (
	"os"
	"syscall"
	"testing"
)

// List shows a child of the test with its parent and group, and never the
// caller itself.
func TestList(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exec sleep 10"}, &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		t.Skipf("cannot start /bin/sh: %v", err)
	}
	defer func() {
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}()
	self := os.Getpid()
	ps, ok := List(self)
	if !ok {
		t.Skip("/proc is not this process's own")
	}
	found := false
	for _, p := range ps {
		if p.Pid == self {
			t.Errorf("List includes the caller %d", self)
		}
		if p.Pid == pid {
			found = true
			if p.Ppid != self || p.Pgrp != pid {
				t.Errorf("child %+v, want ppid %d and pgrp %d", p, self, pid)
			}
		}
	}
	if !found {
		t.Errorf("child %d not listed", pid)
	}
}

// A pid that /proc does not show as ours is refused rather than guessed.
func TestListRefusesAnotherNamespace(t *testing.T) {
	if _, ok := List(os.Getpid() + 1<<20); ok {
		t.Errorf("List accepted a /proc whose self is not the caller")
	}
}
