package main

// Nothing of the child's environment may appear in any process's argv:
// /proc/PID/cmdline is readable by every user, /proc/PID/environ only by
// the process's owner. Socket activation, where initd must change the
// child's environment, is where it once did.

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	registerHelper("cmdline-poll", cmdlinePoll)
}

// cmdlinePoll reads every process's /proc/PID/cmdline over and over until
// its stdin is closed. It prints "found PID CMDLINE" for each process whose
// command line holds $SECRET_TO_FIND (once per pid), then "sweeps N".
func cmdlinePoll(args []string) {
	secret := []byte(os.Getenv("SECRET_TO_FIND"))
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	out := bufio.NewWriter(os.Stdout)
	found := map[string]bool{}
	buf := make([]byte, 1<<16)
	sweeps := 0
	for {
		select {
		case <-stop:
			out.WriteString("sweeps " + strconv.Itoa(sweeps) + "\n")
			out.Flush()
			return
		default:
		}
		d, err := os.Open("/proc")
		if err != nil {
			out.WriteString("error " + err.Error() + "\n")
			out.Flush()
			os.Exit(1)
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		for _, pid := range names {
			if pid[0] < '0' || pid[0] > '9' || found[pid] {
				continue
			}
			fd, err := syscall.Open("/proc/"+pid+"/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			n, _ := syscall.Read(fd, buf)
			syscall.Close(fd)
			if n > 0 && strings.Contains(string(buf[:n]), string(secret)) {
				found[pid] = true
				out.WriteString("found " + pid + " " + strconv.Quote(string(buf[:n])) + "\n")
				out.Flush()
			}
		}
		sweeps++
	}
}

// A secret in the environment of a socket-activated child never shows in
// any process's command line, as seen by an unprivileged user polling all
// of them during 100 starts, as PID 1 and not.
func TestSecretNotInCmdline(t *testing.T) {
	requireNamespaces(t)
	const nobody = 65534
	// The test binary's directory is not nobody's to enter: the poller
	// runs from a copy in one that is.
	dir, err := os.MkdirTemp("", "initd-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, _ := os.Executable()
	bin := filepath.Join(dir, "poller")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := "s3cret-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	argv := helper("cmdline-poll")
	poll := exec.Command(bin, argv[1:]...)
	poll.Env = append(os.Environ(), "SECRET_TO_FIND="+secret)
	poll.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	stdin, err := poll.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := poll.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	poll.Stderr = os.Stderr
	if err := poll.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() { poll.Process.Kill(); poll.Wait() })

	// The poller must see a secret where one is: a shell whose $0 holds it.
	control := exec.Command("/bin/sh", "-c", "sleep 30; :", "control-"+secret)
	if err := control.Start(); err != nil {
		t.Fatal(err)
	}
	controlPid := strconv.Itoa(control.Process.Pid)
	seen := false
	for deadline := time.After(10 * time.Second); !seen; {
		select {
		case l := <-lines:
			seen = strings.HasPrefix(l, "found "+controlPid+" ")
		case <-deadline:
			t.Fatal("the unprivileged poller did not find the secret in a command line that holds it")
		}
	}
	control.Process.Kill()
	control.Wait()

	// In a subtest of their own, so that the starts' clean-ups, which
	// log every start of a failed test, stay quiet when only the poller's
	// finding fails this one.
	const starts = 100
	t.Run("starts", func(t *testing.T) {
		for i := range starts {
			o := runOpt{pid1: i%2 == 0, env: []string{"DB_PASSWORD=" + secret, "LISTEN_FDS=0"}}
			if code, p := run(t, launch(o, "listen-pid"), "--", "/bin/true"); code != 0 {
				t.Fatalf("start %d: status %d, stderr %q", i, code, p.Stderr())
			}
		}
	})
	stdin.Close()
	var found []string
	sweeps := -1
	for l := range lines {
		if n, ok := strings.CutPrefix(l, "sweeps "); ok {
			sweeps, _ = strconv.Atoi(n)
		} else if strings.HasPrefix(l, "found ") {
			found = append(found, l)
		}
	}
	if len(found) > 0 {
		t.Errorf("during %d socket-activated starts an unprivileged user read the environment's secret in %d command lines, e.g. %.160s...", starts, len(found), found[0])
	}
	if sweeps < starts {
		t.Errorf("the poller swept /proc only %d times during %d starts: too few to prove anything", sweeps, starts)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
