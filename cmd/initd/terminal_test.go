package main

// Terminal: the child's group owns the terminal, and the job-control
// signals (TTIN, TTOU, TSTP) never stop initd itself.

import (
	"bufio"
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
			// The terminal echoes Ctrl-C as "^C" before the next line.
			lines <- strings.TrimPrefix(strings.TrimRight(sc.Text(), "\r"), "^C")
		}
		close(lines)
	}()
	await := func(role, event string, args ...string) []string {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed before %q", eventString(role, event, args))
				}
				if isEvent(l, role, event, args) {
					return strings.Fields(l)
				}
			case <-timeout:
				t.Fatalf("no %q on the terminal", eventString(role, event, args))
			}
		}
	}
	// "child ready PID PGRP FOREGROUND"
	f := await("child", "ready")
	if f[2] != f[3] || f[3] != f[4] {
		t.Errorf("child pid %s, group %s, terminal's foreground group %s: want all three equal", f[2], f[3], f[4])
	}
	master.Write([]byte{3}) // Ctrl-C
	await("child", "got", "SIGINT")
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

// SIGTTIN and SIGTTOU are dropped, and never stop initd.
func TestTerminalStopSignals(t *testing.T) {
	p := start(t, pid1, append([]string{"--"}, helper("record", "child", "TERM")...)...)
	p.expectEvent("child", "ready")
	p.signal(syscall.SIGTTIN)
	p.signal(syscall.SIGTTOU)
	p.signal(syscall.SIGUSR1)
	p.expectEvent("child", "got", "SIGUSR1")
	if st, _ := stat(p.Pid()); st.state == 'T' {
		t.Error("initd is stopped")
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if p.hasEvent("child", "got", "SIGTTIN") || p.hasEvent("child", "got", "SIGTTOU") {
		t.Errorf("forwarded a terminal stop signal: %q", p.Out())
	}
}

// SIGTSTP sent to initd stops the child's group but never initd; SIGCONT
// resumes it.
func TestTSTPFromOutside(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `trap 'exit 8' TERM; echo ready; while :; do sleep 0.05; done`)
	p.expect("ready")
	// The shell or its sleep (a shell caught in vfork waits, in state D,
	// for its stopped child) is stopped.
	stopped := func() bool {
		for _, c := range descendants(p.Pid()) {
			if st, ok := stat(c); ok && st.state == 'T' {
				return true
			}
		}
		return false
	}
	p.signal(syscall.SIGTSTP)
	if !waitFor(stopped) {
		t.Fatal("SIGTSTP did not stop the child's group")
	}
	if st, _ := stat(p.Pid()); st.state == 'T' {
		t.Error("initd stopped on SIGTSTP")
	}
	p.signal(syscall.SIGCONT)
	if !waitFor(func() bool { return !stopped() }) {
		t.Error("child not continued by SIGCONT")
	}
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 8 {
		t.Errorf("status %d, want 8", got)
	}
}
