package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A stop signal that arrives after initd subscribed but before the child
// exists is not lost: it waits for the spawn and reaches the child. The
// test finds that moment from outside: initd keeps its threads on one CPU
// from right after it subscribes to the stop signals until the spawn, and
// a PATH of thousands of missing directories makes the search before the
// spawn long enough to see it. (The few hundred microseconds of the Go
// runtime's own start, before main, cannot be covered: see
// supervisor.Subscription.)
func TestStopBeforeTheChildExists(t *testing.T) {
	requireNamespaces(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to see initd pin its threads")
	}
	dirs := make([]string, 12000) // under the 128 kB limit of one variable
	for i := range dirs {
		dirs[i] = "/n/" + strconv.Itoa(i)
	}
	path := "PATH=" + strings.Join(dirs, ":") + ":/bin:/usr/bin"
	counts := map[int]int{}
	seen := 0
	for run := 0; run < 20; run++ {
		cmd := exec.Command(initdBin, "--", "sleep", "10")
		cmd.Env = []string{path}
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		status := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status"
		deadline := time.Now().Add(5 * time.Second)
		pinned := false
		for !pinned && time.Now().Before(deadline) {
			b, err := os.ReadFile(status)
			if err != nil {
				break
			}
			_, rest, _ := strings.Cut(string(b), "Cpus_allowed_list:")
			list, _, _ := strings.Cut(strings.TrimSpace(rest), "\n")
			pinned = !strings.ContainsAny(list, ",-")
		}
		if pinned {
			seen++
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if pinned {
			counts[cmd.ProcessState.ExitCode()]++
		}
	}
	t.Logf("statuses of %d runs stopped before the spawn: %v", seen, counts)
	if seen < 5 {
		t.Skipf("saw initd between subscribing and spawning in only %d of 20 runs", seen)
	}
	if counts[143] != seen {
		t.Errorf("statuses %v: every run should end with the child killed by the early SIGTERM (143)", counts)
	}
}
