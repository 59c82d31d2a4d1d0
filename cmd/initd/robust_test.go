package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	// leave-group starts a grandchild in a group of its own, then moves
	// into that group, leaving the group initd signals empty.
	registerHelper("leave-group", func(args []string) {
		argv := helper("record", "grandchild", "TERM")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Println("cannot start grandchild", err)
			os.Exit(1)
		}
		if err := syscall.Setpgid(0, cmd.Process.Pid); err != nil {
			fmt.Println("setpgid:", err)
			os.Exit(1)
		}
		fmt.Printf("moved %d\n", os.Getpid())
		time.Sleep(time.Hour)
	})
}

// openPTY returns a pseudo-terminal's master and slave, without a package
// outside the standard library and x/sys.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		skip(t, "no pseudo-terminals: "+err.Error())
	}
	unlock := 0
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// On a terminal, the child's process group gets the foreground, so Ctrl-C
// (the terminal's SIGINT to the foreground group) reaches the app
// directly, as in "docker run -it".
func TestTerminalForeground(t *testing.T) {
	requireNamespaces(t)
	master, slave := openPTY(t)
	defer master.Close()
	self, _ := os.Executable()
	argv := append([]string{initdBin, "--"}, helper("record", "child", "INT")...)
	cmd := exec.Command(self, argv...)
	cmd.Env = append(os.Environ(), "INITD_TEST_PID1=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		Setsid:     true, Setctty: true, Ctty: 0,
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	await := func(s string) string {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed before %q", s)
				}
				if strings.Contains(l, s) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q on the terminal", s)
			}
		}
	}
	// "child ready PID PGRP FOREGROUND"
	f := strings.Fields(await("child ready"))
	if f[2] != f[3] || f[3] != f[4] {
		t.Errorf("child pid %s, group %s, terminal's foreground group %s: want all three equal", f[2], f[3], f[4])
	}
	master.Write([]byte{3}) // Ctrl-C
	await("child got SIGINT")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("initd did not exit after the child")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
}

// A failed kill (the child's group is gone) is logged at -v and never
// fatal: initd goes on and reports the child's status.
func TestFailedKillNotFatal(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"-v", "--"}, helper("leave-group")...)...)
	line := p.expect("moved")
	child, _ := strconv.Atoi(strings.Fields(line)[1])
	p.saw("grandchild ready")
	p.signal(syscall.SIGUSR1)
	if !waitFor(func() bool { return strings.Contains(p.Stderr(), "cannot send SIGUSR1") }) {
		t.Errorf("no log of the failed kill: %q", p.Stderr())
	}
	syscall.Kill(child, syscall.SIGKILL)
	if got := p.wait(20 * time.Second); got != 137 {
		t.Errorf("status %d, want 137", got)
	}
	// The grandchild had left the child's group; as initd's adopted child
	// it still got SIGTERM as a leftover.
	if !p.has("grandchild got SIGTERM") {
		t.Errorf("leftover outside the group got no SIGTERM: %q", p.Out())
	}
}

// A burst of signals neither crashes initd, nor grows its memory, nor
// loses the child's exit status.
func TestSignalBurst(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `trap 'exit 42' TERM; trap '' USR1 USR2 WINCH; echo ready; while :; do sleep 0.1; done`)
	p.expect("ready")
	before := rss(t, p.Pid())
	sigs := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	for i := 0; i < 10000; i++ {
		p.signal(sigs[i%3])
	}
	time.Sleep(200 * time.Millisecond)
	after := rss(t, p.Pid())
	if after-before > 1024 {
		t.Errorf("RSS grew from %d kB to %d kB", before, after)
	}
	t.Logf("RSS %d kB before, %d kB after 10,000 signals", before, after)
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 42 {
		t.Errorf("status %d, want 42", got)
	}
}

// With stdin and stderr closed, initd and the child still run: the closed
// descriptors are opened on /dev/null so nothing else lands there.
func TestClosedStdio(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"--", "/bin/sh", "-c", `exec "$@" <&- 2>&-`, "sh", initdBin, "-v", "--"}, helper("args", "x")...)...)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d", got)
	}
	fds := lineWith(p.Out(), "fds ")
	if !strings.HasPrefix(fds, "fds 0,1,2") {
		t.Errorf("child descriptors %q, want 0, 1 and 2 open", fds)
	}
}

// --pdeath: when initd's parent dies, initd gets the signal and forwards
// it like any other.
func TestPdeath(t *testing.T) {
	inner := append([]string{initdBin, "-p", "USR1", "--"}, helper("record", "child", "TERM")...)
	p := start(t, runOpt{}, append([]string{"--", "/bin/sh", "-c", `"$@" & sleep 0.5; exit 0`, "sh"}, inner...)...)
	p.saw("child ready")
	p.saw("child got SIGUSR1")
	p.wait(20 * time.Second)
}

// -w logs every zombie reaped besides the main child.
func TestWarnReap(t *testing.T) {
	_, p := run(t, pid1, "-w", "--", "/bin/sh", "-c", "( true & ); sleep 0.2")
	if !strings.Contains(p.Stderr(), "reaped zombie pid") {
		t.Errorf("stderr %q lacks the reaped zombie", p.Stderr())
	}
}
