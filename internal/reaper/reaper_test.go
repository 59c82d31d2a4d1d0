package reaper

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/exitstatus"
)

// Reap must collect every exited child, report each once, and then say
// whether children remain, without blocking.
func TestReap(t *testing.T) {
	start := func(script string) int {
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if err != nil {
			t.Skipf("cannot start /bin/sh: %v", err)
		}
		return pid
	}
	want := map[int]int{start("exit 3"): 3, start("kill -TERM $$"): 143}
	var ws syscall.WaitStatus
	// Wait until both are zombies without reaping them.
	for pid := range want {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
			t.Fatalf("waitid: %v", err)
		}
	}
	got := map[int]int{}
	exits, left := Reap(nil)
	for _, e := range exits {
		got[e.Pid] = exitstatus.Of(e.Status)
	}
	if left {
		t.Errorf("Reap reported children left, want none")
	}
	for pid, code := range want {
		if got[pid] != code {
			t.Errorf("pid %d: got %d, want %d (all: %v)", pid, got[pid], code, got)
		}
	}

	// With a live child, Reap returns at once and reports it.
	live := start("exec sleep 10")
	defer func() { syscall.Kill(live, syscall.SIGKILL); syscall.Wait4(live, &ws, 0, nil) }()
	exits, left = Reap(exits)
	for _, e := range exits {
		t.Errorf("reaped live pid %d", e.Pid)
	}
	if !left {
		t.Errorf("Reap reported no children with one alive")
	}
}
