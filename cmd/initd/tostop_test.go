package main

// initd on a terminal whose TOSTOP flag is set ("stty tostop"), started by
// a shell: its child's group takes the foreground, so initd writes from a
// background group, which the kernel answers with SIGTTOU. initd's own
// messages must get through and never make it loop, and a group whose
// exec failed must not keep the foreground.

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ttyRun runs argv as the session leader of a new pseudo-terminal, which
// is its controlling terminal and stdio, and returns what appeared on the
// terminal and the exit status. A session still running after limit is
// killed, and the test fails with the state of each of its processes: a
// process in state R there is spinning.
func ttyRun(t *testing.T, limit time.Duration, argv ...string) (string, int) {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			// EIO once every process of the session has closed the slave.
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:max(n, 0)])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	text := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.ReplaceAll(out.String(), "\r\n", "\n")
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		var states []string
		pids := append([]int{cmd.Process.Pid}, descendants(cmd.Process.Pid)...)
		for _, pid := range pids {
			comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
			st, _ := stat(pid)
			states = append(states, strconv.Itoa(pid)+" "+strings.TrimSpace(string(comm))+" state "+string(st.state))
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		<-done
		t.Fatalf("%q still running after %v (%s); the terminal showed %q", argv, limit, strings.Join(states, ", "), text())
	}
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Errorf("the terminal stayed open after %q exited", argv)
	}
	return text(), cmd.ProcessState.ExitCode()
}

// requireBash skips a test that needs bash for its job control.
func requireBash(t *testing.T) string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		skip(t, "bash not found: these tests need a job-control shell")
	}
	return bash
}

// A command that cannot be executed, started by a job-control shell: the
// failed child took the foreground, initd's message raises SIGTTOU, and
// initd must still print it and exit 126 (as tini does), not spin on the
// write it restarts after dropping the signal. The "exit" keeps bash from
// exec'ing initd in its own place, where initd's group would be the
// session leader's, orphaned, and answered with EIO instead of SIGTTOU.
func TestTostopExecFailure(t *testing.T) {
	bash := requireBash(t)
	out, code := ttyRun(t, 10*time.Second, bash, "-c", `set -m; stty tostop; "$0" -- /etc/passwd; exit $?`, initdBin)
	const want = "initd: /etc/passwd: cannot execute: permission denied (not executable)\n"
	if code != 126 || !strings.Contains(out, want) {
		t.Errorf("status %d, terminal %q; want 126 and %q", code, out, want)
	}
}

// With -v, initd's "started" line is written while the child it started
// holds the foreground: it gets through, and initd exits with the child.
func TestTostopVerbose(t *testing.T) {
	bash := requireBash(t)
	out, code := ttyRun(t, 10*time.Second, bash, "-c", `set -m; stty tostop; "$0" -v -- true; exit $?`, initdBin)
	if code != 0 || !strings.Contains(out, "initd: started true as pid ") {
		t.Errorf("status %d, terminal %q; want 0 and initd's \"started true\" line", code, out)
	}
}

// A shell without job control runs initd in its own process group, the
// terminal's foreground. When the command cannot be executed, initd gives
// the foreground back to that group, so the shell can go on using the
// terminal; left to the dead child's group, the shell's next write is
// refused (EIO, or SIGTTOU for a group that is not orphaned).
func TestTostopForegroundGivenBack(t *testing.T) {
	out, code := ttyRun(t, 10*time.Second, "/bin/sh", "-c", `stty tostop; "$0" -- /etc/passwd; echo "after $?"`, initdBin)
	const msg = "initd: /etc/passwd: cannot execute: permission denied (not executable)\n"
	if code != 0 || !strings.Contains(out, msg) || !strings.Contains(out, "after 126\n") {
		t.Errorf("status %d, terminal %q; want 0, %q and the shell's \"after 126\"", code, out, msg)
	}
}

// --help from a background job: initd's output raises SIGTTOU like its
// messages do, and gets through like them.
func TestTostopHelpInBackground(t *testing.T) {
	bash := requireBash(t)
	out, code := ttyRun(t, 10*time.Second, bash, "-c", `set -m; stty tostop; "$0" --help & wait $!; exit $?`, initdBin)
	if code != 0 || !strings.Contains(out, "usage: initd [options]") {
		t.Errorf("status %d, terminal %q; want 0 and the usage", code, out)
	}
}
