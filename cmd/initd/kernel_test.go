package main

// The two reap modes side by side. `make test` runs the whole package a
// second time with INITD_REAP=wait, so every other test covers both; these
// name the mode themselves because what they check differs by mode.

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitForLine waits up to limit for a stdout line equal to want.
func waitForLine(p *proc, want string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lines(p, want) > 0 {
			return true
		}
	}
	return false
}

// ignoresSIGCHLD reads whether pid has SIGCHLD set to SIG_IGN.
func ignoresSIGCHLD(t *testing.T, pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "SigIgn:")
	line, _, _ := strings.Cut(rest, "\n")
	mask, err := strconv.ParseUint(strings.TrimSpace(line), 16, 64)
	if err != nil {
		t.Fatalf("SigIgn %q: %v", line, err)
	}
	return mask&(1<<(syscall.SIGCHLD-1)) != 0
}

func stdinFrom(f *os.File) func(*exec.Cmd) {
	return func(c *exec.Cmd) { c.Stdin = f }
}

// An orphan storm as PID 1: in kernel mode no zombie ever exists, in wait
// mode none is left. Both end with the main child's status.
func TestOrphanStormByMode(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		batches int
	}{
		{"kernel", 100}, // 100,000 orphans
		{"wait", 10},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			// Each batch is a shell whose 1,000 background jobs are
			// re-parented to initd when it exits.
			script := "b=0; while [ $b -lt " + strconv.Itoa(tt.batches) + " ]; do " +
				`sh -c 'i=0; while [ $i -lt 1000 ]; do :& i=$((i+1)); done'; b=$((b+1)); done; echo storm over; read x; exit 7`
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			p := start(t, runOpt{pid1: true, setup: stdinFrom(r)}, "--reap="+tt.mode, "--", "/bin/sh", "-c", script)
			r.Close()
			stopSampling := sampleZombies(p.Pid(), 0)
			// 100,000 forks take 15 s on an idle machine and more on a
			// loaded one: wait as long as it takes, within reason.
			if !waitForLine(p, "storm over", 5*time.Minute) {
				t.Fatal("the storm did not end within 5 minutes")
			}
			peak, _ := stopSampling()
			// In kernel mode initd has SIGCHLD ignored while the child
			// runs (it waits on stdin now): that, more than the sampling,
			// shows who reaped.
			if got, want := ignoresSIGCHLD(t, p.Pid()), tt.mode == "kernel"; got != want {
				t.Errorf("%s mode: SIGCHLD ignored %v, want %v", tt.mode, got, want)
			}
			// Every orphan has exited by now; none may be left unreaped.
			if !waitFor(func() bool { return zombies(p.Pid()) == 0 }) {
				t.Errorf("%d zombies left after the storm", zombies(p.Pid()))
			}
			w.Write([]byte("\n"))
			if code := p.wait(60 * time.Second); code != 7 {
				t.Errorf("status %d, want 7", code)
			}
			t.Logf("%d orphans, peak of %d zombies seen", tt.batches*1000, peak)
			if tt.mode == "kernel" && peak != 0 {
				t.Errorf("kernel mode: %d zombies seen during the storm, want none", peak)
			}
		})
	}
}

// The main child's status is not confused by orphans that exit at the same
// moment, nor lost when the child exits before initd is ready to watch it.
func TestMainStatusByMode(t *testing.T) {
	for _, mode := range []string{"kernel", "wait"} {
		t.Run(mode, func(t *testing.T) {
			same := `i=0; while [ $i -lt 200 ]; do (sleep 0.05; exit 3) & i=$((i+1)); done; sleep 0.05; exit 42`
			for i := 0; i < 10; i++ {
				if code, _ := run(t, runOpt{pid1: true}, "--reap="+mode, "--", "/bin/sh", "-c", same); code != 42 {
					t.Fatalf("run %d: status %d, want 42", i, code)
				}
			}
			for i := 0; i < 50; i++ {
				if code, _ := run(t, runOpt{pid1: i%2 == 0}, "--reap="+mode, "--", "/bin/sh", "-c", "exit 9"); code != 9 {
					t.Fatalf("instant exit, run %d: status %d, want 9", i, code)
				}
			}
		})
	}
}

// -w has to see every zombie, so auto mode falls back to wait4 with it, and
// each orphan is reported.
func TestWarnReapMeansWaitMode(t *testing.T) {
	code, p := run(t, runOpt{pid1: true}, "-w", "-vv", "--", "/bin/sh", "-c", "(sleep 0.1 &) ; sleep 0.3")
	if code != 0 {
		t.Errorf("status %d", code)
	}
	if !strings.Contains(p.Stderr(), "reaping in wait mode") || !strings.Contains(p.Stderr(), "reaped zombie pid") {
		t.Errorf("stderr %q: want wait mode and the orphan reported", p.Stderr())
	}
}
