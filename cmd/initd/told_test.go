package main

// End-to-end tests of who counts as told to stop, which status a shell's
// container reports, the processes of the namespace that are not initd's
// children, and --stop-delay. The rules themselves are table tests in
// internal/lifecycle; these show what a user of each would see go wrong.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	registerHelper("setsid-on-term", setsidOnTerm)
	registerHelper("dies-of-term", diesOfTerm)
	registerHelper("server", server)
}

// setsidOnTerm forks a worker in its own group that, on SIGTERM, prints
// "w got SIGTERM", calls setsid() (a cleanup that must outlive its
// session), says so by closing descriptor 4, and finishes 300 ms later.
// The main child waits for SIGTERM and for the worker's setsid, and exits
// 0.
func setsidOnTerm(args []string) {
	if len(args) > 0 && args[0] == "worker" {
		c := make(chan os.Signal, 10)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("w ready")
		os.NewFile(3, "ready").Close()
		moved := os.NewFile(4, "moved")
		for range c {
			fmt.Println("w got SIGTERM")
			syscall.Setsid()
			moved.Close()
			go func() { time.Sleep(300 * time.Millisecond); fmt.Println("w cleanup done"); os.Exit(0) }()
		}
	}
	c := make(chan os.Signal, 10)
	signal.Notify(c, syscall.SIGTERM)
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	startHelper("setsid-on-term", []*os.File{w}, "worker")
	w.Close()
	fmt.Println("main ready")
	<-c
	r.Read(make([]byte, 1)) // EOF once the worker called setsid
	os.Exit(0)
}

// diesOfTerm is a main child that is not a shell, with one helper: the
// helper exits 7 a moment after SIGTERM, the main child dies of it (143).
func diesOfTerm(args []string) {
	if len(args) > 0 && args[0] == "helper" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("helper ready")
		os.NewFile(3, "ready").Close()
		<-c
		time.Sleep(200 * time.Millisecond)
		os.Exit(7)
	}
	startHelper("dies-of-term", nil, "helper")
	fmt.Println("main ready")
	select {} // SIGTERM, unhandled, kills it
}

// startHelper starts the test binary as helper name with args, in the
// caller's group and on its stdout, with extra from descriptor 4 on, and
// returns once the helper closed descriptor 3 to say it is ready.
func startHelper(name string, extra []*os.File, args ...string) {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	cmd := exec.Command(os.Args[0], append([]string{"-helper=" + name}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = append([]*os.File{w}, extra...)
	if err := cmd.Start(); err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	w.Close()
	r.Read(make([]byte, 1))
	r.Close()
}

// server SOCKET answers "ok" to every connection on a Unix socket until
// its first SIGTERM, then closes the socket, prints "server got SIGTERM"
// and exits 0, unless "ignore" follows SOCKET: then it keeps serving and
// only prints. SIGUSR1 makes it exit 5.
func server(args []string) {
	l, err := net.Listen("unix", args[0])
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	ignore := len(args) > 1 && args[1] == "ignore"
	c := make(chan os.Signal, 10)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGUSR1)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte("ok\n"))
			conn.Close()
		}
	}()
	fmt.Println("server ready")
	for s := range c {
		if s == syscall.SIGUSR1 {
			os.Exit(5)
		}
		fmt.Println("server got SIGTERM")
		if !ignore {
			l.Close()
			os.Exit(0)
		}
	}
}

// ask connects to the server's socket and reports whether it answered.
func ask(sock string) bool {
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return line == "ok\n"
}

// writeScript writes an executable shell script into a test directory.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "app.sh")
	if err := os.WriteFile(f, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitChildren waits until the process at host pid has n children.
func waitChildren(t *testing.T, pid, n int) {
	t.Helper()
	if !waitFor(func() bool {
		k := 0
		for _, c := range descendants(pid) {
			if st, ok := stat(c); ok && st.ppid == pid {
				k++
			}
		}
		return k == n
	}) {
		t.Fatalf("pid %d never had %d children", pid, n)
	}
}

// "sh -c 'worker & app'": the shell was waiting for no single command, so
// initd reports the shell's own status, 143, every time, as the peers do,
// whether or not the app was reaped before the worker. A main child that
// is not a shell reports its own status too.
func TestShellStatusIsDeterministic(t *testing.T) {
	worker := writeScript(t, "trap 'exit 7' TERM\necho ready\nwhile :; do sleep 0.02; done\n")
	runs := 100
	if testing.Short() {
		runs = 10
	}
	counts := map[int]int{}
	for i := 0; i < runs; i++ {
		p := start(t, pid1, "--", "/bin/sh", "-c", worker+" & sleep 1000")
		p.expect("ready")
		waitChildren(t, childOf(t, p.Pid()), 2)
		p.signal(syscall.SIGTERM)
		counts[p.wait(20*time.Second)]++
	}
	if len(counts) != 1 || counts[143] != runs {
		t.Errorf("statuses over %d identical runs: %v, want 143 every time", runs, counts)
	}
	t.Run("not a shell", func(t *testing.T) {
		p := start(t, pid1, append([]string{"--"}, helper("dies-of-term")...)...)
		p.expect("main ready")
		p.signal(syscall.SIGTERM)
		if code := p.wait(20 * time.Second); code != 143 {
			t.Errorf("status %d, want the main child's own 143, not its helper's 7", code)
		}
	})
}

// As PID 1, the app behind "sh -c" that outlives --grace is SIGKILLed
// with the namespace: initd reports 137 for it, as README and initd.1 say,
// not the shell's 143.
func TestShellAppPastGraceIs137(t *testing.T) {
	app := writeScript(t, "trap 'echo trapped; while :; do sleep 0.05; done' TERM\necho ready\nwhile :; do sleep 0.05 & wait $!; done\n")
	p := start(t, pid1, "-t", "500ms", "--", "/bin/sh", "-c", app)
	p.expect("ready")
	waitChildren(t, childOf(t, p.Pid()), 1)
	p.signal(syscall.SIGTERM)
	p.expect("trapped")
	if code := p.wait(20 * time.Second); code != 137 {
		t.Errorf("status %d, want 137: the app was SIGKILLed at the end of the grace period", code)
	}
}

// POSIX shells start "cmd &" with SIGINT ignored. With SIGINT as the stop
// signal, such a background worker was not told to stop: it gets initd's
// SIGTERM when the shell is gone, instead of waiting for the SIGKILL.
func TestIgnoredStopIsNotTold(t *testing.T) {
	worker := writeScript(t, "trap 'echo worker got TERM; exit 0' TERM\necho ready\nwhile :; do sleep 0.02; done\n")
	p := start(t, pid1, "-t", "60s", "--", "/bin/sh", "-c", worker+" & sleep 1000")
	p.expect("ready")
	waitChildren(t, childOf(t, p.Pid()), 2)
	p.signal(syscall.SIGINT)
	p.expect("worker got TERM")
	if code := p.wait(20 * time.Second); code != 130 {
		t.Errorf("status %d, want the shell's 130", code)
	}
}

// What a process got is what counts, not where it is later.
func TestToldIsWhatWasReceived(t *testing.T) {
	// A helper whose handler calls setsid() got the forwarded SIGTERM: it
	// is not sent initd's own when the main child exits.
	t.Run("setsid in the handler", func(t *testing.T) {
		p := start(t, pid1, append([]string{"-t", "60s", "--"}, helper("setsid-on-term")...)...)
		p.expect("main ready")
		p.signal(syscall.SIGTERM)
		p.saw("w cleanup done")
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("status %d, want 0", code)
		}
		if n := lines(p, "w got SIGTERM"); n != 1 {
			t.Errorf("the helper's handler ran %d times, want once", n)
		}
	})
	// A cleanup that the trap starts in a session of its own after the
	// stop is not sent initd's SIGTERM: it finishes.
	t.Run("setsid cleanup after the stop", func(t *testing.T) {
		if _, err := exec.LookPath("setsid"); err != nil {
			skip(t, "needs setsid(1) from util-linux")
		}
		// The trap exits once the cleanup is in its own session.
		app := writeScript(t, "f=${0%/*}/moved\ntrap 'setsid sh -c \"echo >$f; sleep 0.5; echo cleanup done\" & while [ ! -s $f ]; do sleep 0.01; done; exit 0' TERM\necho ready\nwhile :; do sleep 0.05 & wait $!; done\n")
		p := start(t, pid1, "-t", "60s", "--", "/bin/sh", "-c", "exec "+app)
		p.expect("ready")
		p.signal(syscall.SIGTERM)
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("status %d, want 0", code)
		}
		if lines(p, "cleanup done") != 1 {
			t.Errorf("the cleanup was cut short: %q", p.Out())
		}
	})
	// With --stop-signals QUIT a forwarded TERM is no stop, but it was
	// delivered: initd's own SIGTERM does not follow it.
	t.Run("a forwarded TERM that is not a stop", func(t *testing.T) {
		p := start(t, pid1, append([]string{"--stop-signals", "QUIT", "-t", "60s", "--"}, helper("tree", "worker:w:group:300ms", "wait:TERM", "exit:0")...)...)
		p.expect("w ready")
		p.signal(syscall.SIGTERM)
		p.saw("w cleanup done")
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("status %d, want 0", code)
		}
		if n := lines(p, "w got SIGTERM"); n != 1 {
			t.Errorf("the worker got SIGTERM %d times, want once", n)
		}
	})
}

// As PID 1 initd waits for every process of the namespace, not only its
// children: an exec session (docker exec, kubectl exec) has its parent
// outside, and gets initd's SIGTERM and the grace period like the rest.
func TestExecSessionGetsGracefulStop(t *testing.T) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		skip(t, "needs nsenter(1) from util-linux")
	}
	p := start(t, pid1, append([]string{"-t", "60s", "--"}, helper("tree", "ready", "wait:TERM", "exit:0")...)...)
	p.expect("main ready")
	session := exec.Command(nsenter, "-t", strconv.Itoa(p.Pid()), "-p", "-m", "--",
		"/bin/sh", "-c", "trap 'echo session got TERM; sleep 0.3; echo session done; exit 0' TERM; echo session ready; while :; do sleep 0.02; done")
	out, err := session.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Process.Kill(); session.Wait() })
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(20 * time.Second):
			t.Fatal("the session said nothing for 20 s")
		}
		return ""
	}
	if l := next(); l != "session ready" {
		t.Fatalf("session: %q", l)
	}
	p.signal(syscall.SIGTERM)
	var got []string
	for l := range lines {
		got = append(got, l)
	}
	if strings.Join(got, "|") != "session got TERM|session done" {
		t.Errorf("the session printed %q: it was killed without a graceful stop", got)
	}
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
}

// --stop-delay: the app keeps serving during the delay, and stops after.
func TestStopDelay(t *testing.T) {
	sock := func(t *testing.T) string { return filepath.Join(t.TempDir(), "s") }
	t.Run("served during the delay, refused after", func(t *testing.T) {
		s := sock(t)
		p := start(t, pid1, append([]string{"--stop-delay", "2s", "--"}, helper("server", s)...)...)
		p.expect("server ready")
		p.signal(syscall.SIGTERM)
		if !ask(s) {
			t.Fatal("a request right after the stop signal was refused: the stop was not delayed")
		}
		if p.has("server got SIGTERM") {
			t.Fatal("the server got SIGTERM at once")
		}
		p.saw("server got SIGTERM")
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("status %d, want 0", code)
		}
		if ask(s) {
			t.Error("the server still answers after the stop")
		}
	})
	t.Run("a second stop goes at once", func(t *testing.T) {
		p := start(t, pid1, append([]string{"-v", "--stop-delay", "1h", "--"}, helper("server", sock(t))...)...)
		p.expect("server ready")
		p.signal(syscall.SIGTERM)
		// Pending together, INT would be read first: hold TERM first.
		if !waitFor(func() bool { return strings.Contains(p.Stderr(), "received SIGTERM, forwarding it in 1h") }) {
			t.Fatalf("initd did not hold SIGTERM: %q", p.Stderr())
		}
		p.signal(syscall.SIGINT)
		if code := p.wait(20 * time.Second); code != 130 {
			t.Errorf("status %d, want 130: the server died of the insisting SIGINT", code)
		}
	})
	t.Run("the child's exit ends the delay", func(t *testing.T) {
		p := start(t, pid1, append([]string{"--stop-delay", "1h", "--"}, helper("server", sock(t))...)...)
		p.expect("server ready")
		p.signal(syscall.SIGTERM)
		p.signal(syscall.SIGUSR1) // forwarded during the delay: the server exits 5
		if code := p.wait(20 * time.Second); code != 5 {
			t.Errorf("status %d, want 5", code)
		}
	})
	t.Run("--kill-after counts from the forward", func(t *testing.T) {
		p := start(t, pid1, append([]string{"--stop-delay", "300ms", "-k", "300ms", "--"}, helper("server", sock(t), "ignore")...)...)
		p.expect("server ready")
		p.signal(syscall.SIGTERM)
		if code := p.wait(20 * time.Second); code != 137 {
			t.Errorf("status %d, want 137", code)
		}
		if !p.has("server got SIGTERM") {
			t.Error("SIGKILLed before the delayed SIGTERM was forwarded")
		}
	})
}
