// Package dockertest runs the talk's images on a real Docker engine: a
// private dockerd this test starts and stops itself, with no network.
package dockertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// stopTimeout is docker stop's default and the manifests' grace period.
const stopTimeout = 10 * time.Second

// beforeKill bounds a graceful stop: it must end before the engine's
// SIGKILL at stopTimeout, with a margin for a clock that is read on both
// sides of a command-line tool (docker-compose v1 alone takes a second or
// two to start on a busy machine). How short the stop is (about a second:
// trap.sh's cleanup) is a figure of the demo table, not a test's bound: a
// bound near it failed at 3.9 s with four engines' tests on two cores.
// What fails a broken init is the SIGKILL itself: 137, no trap output and
// a stop at stopTimeout.
const beforeKill = stopTimeout - 2*time.Second

var shared = testenv.Shared[*demo.Daemon]{
	Name:    "the private dockerd",
	Missing: "no Docker engine can be started",
	TempDir: "initd-docker-",
	Usable:  demo.DockerUsable,
	Start: func(ctx context.Context, dir, initd string) (*demo.Daemon, error) {
		return demo.StartDaemon(ctx, dir, "--init-path", initd)
	},
}

func TestMain(m *testing.M) { shared.Main(m) }

// daemon returns the private dockerd every test of this package shares,
// started with --init-path pointing at initd (which only changes what
// "docker run --init" and Compose's init: true use), with the base image
// and the demo's images built. It is stopped when the tests are done.
func daemon(t *testing.T) (*demo.Daemon, string) {
	t.Helper()
	return shared.Get(t)
}

func TestDocker(t *testing.T) {
	d, initd := daemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	t.Run("stop", func(t *testing.T) { testStop(ctx, t, d) })
	t.Run("pause", func(t *testing.T) { testPause(ctx, t, d) })
	t.Run("info", func(t *testing.T) { testInfo(ctx, t, d, initd) })
	t.Run("usr1", func(t *testing.T) { testUSR1(ctx, t, d) })
	t.Run("ctrl-c-tty", func(t *testing.T) { testCtrlC(ctx, t, d, true) })
	t.Run("ctrl-c-no-tty", func(t *testing.T) { testCtrlC(ctx, t, d, false) })
}

// testPause runs the Dockerfile.pause image: initd with no child, which
// must answer docker stop's SIGTERM with status 0 at once.
func testPause(ctx context.Context, t *testing.T, d *demo.Daemon) {
	const name = "pause"
	if _, err := d.Output(ctx, "run", "-d", "--network", "none", "--name", name, demo.Images["pause"]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Docker(context.Background(), "rm", "-f", name).Run() })
	time.Sleep(500 * time.Millisecond)
	if out, err := d.Output(ctx, "inspect", "-f", "{{.State.Running}} {{.Path}} {{.Args}}", name); err != nil || strings.TrimSpace(out) != "true /initd [--pause]" {
		t.Fatalf("pause container: %q %v, want it running /initd --pause", strings.TrimSpace(out), err)
	}
	start := time.Now()
	if _, err := d.Output(ctx, "stop", "-t", "10", name); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	code, err := d.Output(ctx, "inspect", "-f", "{{.State.ExitCode}}", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initd --pause: stopped in %s, exit %s", elapsed, strings.TrimSpace(code))
	if strings.TrimSpace(code) != "0" || elapsed >= beforeKill {
		t.Errorf("initd --pause: want exit 0 within %s of docker stop; got exit %s after %s", beforeKill, strings.TrimSpace(code), elapsed)
	}
}

// testStop stops the three images and the shell form under
// "docker run --init" (initd, through --init-path) side by side.
func testStop(ctx context.Context, t *testing.T, d *demo.Daemon) {
	variants := map[string]demo.DockerVariant{
		"exec":  {Name: "exec", Image: demo.Images["exec"]},
		"shell": {Name: "shell", Image: demo.Images["shell"]},
		"initd": {Name: "initd", Image: demo.Images["initd"]},
		"init":  {Name: "docker run --init", Image: demo.Images["shell"], RunArgs: []string{"--init"}},
	}
	got := runAll(variants, func(key string, v demo.DockerVariant) demo.Outcome {
		return d.RunDocker(ctx, "stop-"+key, v, stopTimeout)
	})
	for _, key := range []string{"exec", "shell", "initd", "init"} {
		o := got[key]
		t.Logf("%-18s PID %d, stop %.1f s, exit %d, %s", o.Variant, o.PID, o.Stop.Seconds(), o.Exit, o.Verdict())
		if o.Err != nil {
			t.Errorf("%s: %v\noutput:\n%s", o.Variant, o.Err, o.Output)
		}
	}
	if t.Failed() {
		return
	}

	testenv.CheckExecForm(t, got["exec"], beforeKill)
	testenv.CheckKilled(t, got["shell"], stopTimeout, 0)
	// sh dies of the forwarded SIGTERM; initd reports trap.sh's status
	// once trap.sh has finished its cleanup.
	testenv.CheckGraceful(t, got["initd"], beforeKill)
	testenv.CheckGraceful(t, got["init"], beforeKill)
}

// testInfo checks that dockerd found initd's version where it looks for
// docker-init's: it parses "<name> version X - git.Y" and shows Y.
func testInfo(ctx context.Context, t *testing.T, d *demo.Daemon, initd string) {
	line, err := exec.Command(initd, "--version").Output()
	if err != nil {
		t.Fatalf("initd --version: %v", err)
	}
	_, commit, ok := strings.Cut(strings.TrimSpace(string(line)), " - git.")
	if !ok || commit == "" {
		t.Fatalf("initd --version printed %q, not the shape dockerd parses (initd version X - git.Y)", line)
	}
	got, err := d.Output(ctx, "info", "--format", "{{.InitCommit.ID}}")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != commit {
		t.Errorf("docker info shows init commit %q, want %q from %q", strings.TrimSpace(got), commit, strings.TrimSpace(string(line)))
	}
	if out, err := d.Output(ctx, "info"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "init version") {
				t.Log(strings.TrimSpace(l))
			}
		}
	}
}

// testUSR1 sends a signal trap.sh does not trap. If initd forwards it to
// the shell's process group, trap.sh dies of it at once and silently. If
// it reached only sh, initd would SIGTERM trap.sh when sh died and its
// "Trapped: TERM" cleanup would show; if it reached nothing, the container
// would keep running.
func testUSR1(ctx context.Context, t *testing.T, d *demo.Daemon) {
	const name = "usr1"
	if _, err := d.Output(ctx, "run", "-d", "--network", "none", "--name", name, demo.Images["initd"]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Docker(context.Background(), "rm", "-f", name).Run() })
	logs := func() string {
		out, _ := d.Docker(ctx, "logs", name).CombinedOutput()
		return string(out)
	}
	testenv.WaitFor(t, logs, demo.LineStart, 30*time.Second)
	time.Sleep(500 * time.Millisecond) // trap.sh installs its traps after the first line

	start := time.Now()
	if _, err := d.Output(ctx, "kill", "-s", "USR1", name); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	code, err := d.Output(wctx, "wait", name)
	if err != nil {
		t.Fatalf("container did not exit within 15 s of SIGUSR1: %v\noutput:\n%s", err, logs())
	}
	elapsed := time.Since(start)
	o := demo.Outcome{Output: logs(), PID: demo.ParsePID(logs())}
	o.Exit, _ = strconv.Atoi(strings.TrimSpace(code))
	t.Logf("exit %d after %s, output:\n%s", o.Exit, elapsed, o.Output)
	if o.Exit != 128+int(syscall.SIGUSR1) || !o.StartOnly() || elapsed >= beforeKill {
		t.Errorf("want exit %d (sh killed by SIGUSR1), no trap output (trap.sh killed by SIGUSR1 too) within %s; got exit %d after %s, output:\n%s",
			128+int(syscall.SIGUSR1), beforeKill, o.Exit, elapsed, o.Output)
	}
}

// testCtrlC runs the initd image in the foreground of a pseudo-terminal
// and types Ctrl-C. With a tty, the container's terminal sends SIGINT to
// the foreground process group, which initd handed to the shell's group.
// Without one, the docker client catches SIGINT and sends it to PID 1, and
// initd forwards it to the group. Either way trap.sh must run its cleanup.
func testCtrlC(ctx context.Context, t *testing.T, d *demo.Daemon, tty bool) {
	name := "ctrl-c-no-tty"
	args := []string{"run", "--rm", "--network", "none", "--name", name}
	if tty {
		name = "ctrl-c-tty"
		args = []string{"run", "--rm", "-it", "--network", "none", "--name", name}
	}
	cmd := d.Docker(ctx, append(args, demo.Images["initd"])...)
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("starting docker run under a pty: %v", err)
	}
	defer ptmx.Close()
	var out syncBuffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, ptmx) // ends with EIO when the client exits
		close(copied)
	}()
	var werr error
	done := make(chan struct{})
	go func() { werr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// Only if something went wrong: the client by its PID, then the
		// container by its name on this test's own daemon.
		select {
		case <-done:
		default:
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		d.Docker(context.Background(), "rm", "-f", name).Run()
	})

	testenv.WaitFor(t, out.String, demo.LineStart, 30*time.Second)
	// trap.sh installs its traps after the first line.
	time.Sleep(500 * time.Millisecond)
	// Ctrl-C, as typed on the terminal.
	if _, err := ptmx.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("docker run still running 20 s after Ctrl-C; output:\n%s", out.String())
	}
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
	} else if werr != nil {
		t.Fatalf("docker run: %v", werr)
	}
	o := demo.Outcome{Output: strings.ReplaceAll(out.String(), "\r", "")}
	t.Logf("docker run exit %d, output:\n%s", code, o.Output)
	if !o.Complete() || o.Trapped() != "INT" {
		t.Errorf("want trap.sh to trap INT and finish its cleanup; output:\n%s", o.Output)
	}
}

// runAll runs every variant at once and returns the outcomes by key.
func runAll[V any](variants map[string]V, run func(key string, v V) demo.Outcome) map[string]demo.Outcome {
	var mu sync.Mutex
	got := map[string]demo.Outcome{}
	var wg sync.WaitGroup
	for key, v := range variants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := run(key, v)
			mu.Lock()
			got[key] = o
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
