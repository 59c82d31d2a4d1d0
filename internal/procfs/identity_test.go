package procfs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// roleEnv makes the test binary play a process of TestListAncestorWithoutPtrace
// instead of running the tests.
const roleEnv = "PROCFS_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "hidden":
		hidden()
		os.Exit(0)
	case "lister":
		os.Exit(lister())
	}
	os.Exit(m.Run())
}

// hidden makes itself non-dumpable, so that without CAP_SYS_PTRACE even
// its own user cannot read its /proc/PID/ns/pid, prints "ready" and its
// pid in /proc's namespace, and lives until its stdin closes.
func hidden() {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Println("PR_SET_DUMPABLE:", err)
		return
	}
	self, _ := os.Readlink("/proc/self")
	fmt.Println("ready", self)
	bufio.NewReader(os.Stdin).ReadByte()
}

// lister is PID 1 of a PID namespace under the ancestor's /proc. Without
// CAP_SYS_PTRACE, it lists its processes while it has one hidden child
// and the test has a hidden process, PID 1 of a sibling namespace, whose
// NSpid line is as long and ends in 1, like lister's own.
func lister() int {
	// Capabilities are per thread: drop and list on the same one.
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		fmt.Println("capget:", err)
		return 1
	}
	data[0].Effective &^= 1 << unix.CAP_SYS_PTRACE
	data[0].Permitted &^= 1 << unix.CAP_SYS_PTRACE
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		fmt.Println("capset:", err)
		return 1
	}
	self, _ := os.Executable()
	child := exec.Command(self)
	child.Env = append(os.Environ(), roleEnv+"=hidden")
	in, _ := child.StdinPipe()
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		fmt.Println("start hidden child:", err)
		return 1
	}
	defer in.Close()
	ready, _ := bufio.NewReader(out).ReadString('\n')
	outer, ok := strings.CutPrefix(strings.TrimSpace(ready), "ready ")
	if !ok {
		fmt.Printf("hidden child: %q\n", ready)
		return 1
	}
	for _, pid := range []string{outer, os.Getenv("PROCFS_TEST_SIBLING")} {
		if _, err := readlink("/proc/" + pid + "/ns/pid"); err == nil {
			fmt.Printf("the namespace link of %s is readable: the test proves nothing\n", pid)
			return 1
		}
	}
	ps, ok := List(1)
	if !ok {
		fmt.Println("List refused the ancestor's /proc")
		return 1
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d/%d/%d", p.Pid, p.Ppid, p.Pgrp))
		if p.Comm == "" || p.Start == 0 {
			fmt.Printf("List gave %+v: no name or start time\n", p)
			return 1
		}
	}
	want := fmt.Sprintf("%d/1/1", child.Process.Pid) // pid/ppid/pgrp
	if len(got) != 1 || got[0] != want {
		fmt.Printf("List gave %q (pid/ppid/pgrp), want just the child %s\n", got, want)
		return 1
	}
	return 0
}

// inNewPIDNamespace returns a command that runs the test binary as role,
// as PID 1 of a new PID namespace, of a new user namespace too when the
// test is not root.
func inNewPIDNamespace(role string) *exec.Cmd {
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setpgid: true}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	return cmd
}

// Under an ancestor's /proc and without CAP_SYS_PTRACE, List finds a
// process whose namespace link it cannot read, and still leaves out one
// of a sibling namespace whose NSpid line would name a process of its own.
func TestListAncestorWithoutPtrace(t *testing.T) {
	sibling := inNewPIDNamespace("hidden")
	in, _ := sibling.StdinPipe()
	out, _ := sibling.StdoutPipe()
	if err := sibling.Start(); err != nil {
		t.Skipf("cannot start a PID namespace: %v", err)
	}
	t.Cleanup(func() {
		in.Close()
		sibling.Process.Kill()
		sibling.Wait()
	})
	line := make(chan string, 1)
	go func() { l, _ := bufio.NewReader(out).ReadString('\n'); line <- l }()
	var ready string
	select {
	case ready = <-line:
	case <-time.After(10 * time.Second):
		t.Fatal("the sibling namespace's process is not ready after 10s")
	}
	outer, ok := strings.CutPrefix(strings.TrimSpace(ready), "ready ")
	if !ok {
		t.Fatalf("sibling: %q", ready)
	}

	lister := inNewPIDNamespace("lister")
	lister.Env = append(lister.Env, "PROCFS_TEST_SIBLING="+outer)
	done := make(chan error, 1)
	var buf strings.Builder
	lister.Stdout, lister.Stderr = &buf, &buf
	if err := lister.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- lister.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%v: %s", err, buf.String())
		}
	case <-time.After(10 * time.Second):
		lister.Process.Kill()
		<-done
		t.Fatalf("the lister did not finish within 10s: %s", buf.String())
	}
}

// outerPid names a child of the test by its pid in /proc's namespace, and
// nobody once it is gone.
func TestOuterPid(t *testing.T) {
	if !Ours(os.Getpid()) {
		t.Skip("/proc is not this process's own")
	}
	cmd := exec.Command("/bin/sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	pid := cmd.Process.Pid
	buf := make([]byte, 4096)
	if got, ok := outerPid(pid, buf); ok && got != pid {
		t.Errorf("outerPid(%d) = %d", pid, got)
	} else if !ok {
		t.Skip("this kernel has no pidfd_open or no Pid line in a pidfd's fdinfo")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got, ok := outerPid(pid, buf); !ok || got != -1 {
		t.Errorf("outerPid(%d) after its exit = %d, %v; want -1, true", pid, got, ok)
	}
}

func TestFdinfoPid(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1091\nPid:\t4242\nNSpid:\t4242\t7\n", 4242, true},
		{"pos:\t0\nPid:\t-1\nNSpid:\t-1\n", -1, true},
		{"pos:\t0\nflags:\t02000002\n", 0, false}, // no Pid line: cannot say
		{"Pid:\tx\n", 0, false},
	} {
		if got, ok := fdinfoPid([]byte(tt.in)); got != tt.want || ok != tt.ok {
			t.Errorf("fdinfoPid(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
