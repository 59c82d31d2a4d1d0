package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemon is a private dockerd: its own network namespace with only
// loopback (so an accidental pull fails at once instead of reaching a
// registry), no bridge, no iptables, and its own data root, exec root,
// socket and pidfile under Dir. It never touches another daemon.
type Daemon struct {
	Dir  string // everything the daemon owns lives here
	Host string // DOCKER_HOST value
	Log  string // dockerd's log file

	unshare *exec.Cmd
	exited  chan struct{}
	pid     int // dockerd's own PID, from its pidfile
}

// DockerUsable says why a private daemon cannot be started here, or nil.
func DockerUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("a private dockerd needs root")
	}
	for _, tool := range []string{"dockerd", "docker", "unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH (Debian: apt-get install docker.io iproute2 util-linux)", tool)
		}
	}
	return nil
}

// StartDaemon starts dockerd in dir (which must exist and be empty) and
// waits until it answers. extra is appended to dockerd's arguments (for
// example --init-path). On error nothing is left running.
func StartDaemon(ctx context.Context, dir string, extra ...string) (*Daemon, error) {
	if err := DockerUsable(); err != nil {
		return nil, err
	}
	d := &Daemon{
		Dir:    dir,
		Host:   "unix://" + filepath.Join(dir, "docker.sock"),
		Log:    filepath.Join(dir, "dockerd.log"),
		exited: make(chan struct{}),
	}
	logf, err := os.Create(d.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"--net", "--fork", "--kill-child=SIGTERM", "--",
		"sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		"dockerd",
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"-H", d.Host,
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
	}
	args = append(args, extra...)
	d.unshare = exec.Command("unshare", args...)
	d.unshare.Stdout = logf
	d.unshare.Stderr = logf
	d.unshare.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.unshare.Start(); err != nil {
		return nil, fmt.Errorf("starting dockerd: %v", err)
	}
	go func() { d.unshare.Wait(); close(d.exited) }()

	err = waitAnswers(ctx, "dockerd", d.Log, 60*time.Second, d.exited, d.Stop, func() bool {
		if d.pid == 0 {
			if b, err := os.ReadFile(filepath.Join(dir, "dockerd.pid")); err == nil {
				d.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
		}
		return d.pid != 0 && d.Docker(ctx, "info", "--format", "{{.ServerVersion}}").Run() == nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// waitAnswers polls answers every 200 ms until it reports true. If the
// daemon exits first (exited is closed), ctx ends or limit passes, it
// calls stop and says why, with the tail of the daemon's log.
func waitAnswers(ctx context.Context, name, log string, limit time.Duration, exited <-chan struct{}, stop func() error, answers func() bool) error {
	deadline := time.Now().Add(limit)
	for !answers() {
		select {
		case <-exited:
			// Stop removes the state directory, log included: read first.
			err := fmt.Errorf("%s exited at start; its log:\n%s", name, tail(log, 20))
			stop()
			return err
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("%s did not answer within %d s; its log:\n%s", name, int(limit/time.Second), tail(log, 20))
			stop()
			return err
		}
	}
	return nil
}

// Docker returns a docker client command for this daemon. The classic
// builder is asked for explicitly: it needs no buildx plugin and behaves
// the same with the old and new clients.
func (d *Daemon) Docker(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host, "DOCKER_BUILDKIT=0", "DOCKER_CLI_HINTS=false")
	return cmd
}

// Command is Docker under the name the Engine interface gives it.
func (d *Daemon) Command(ctx context.Context, args ...string) *exec.Cmd {
	return d.Docker(ctx, args...)
}

// Output runs a docker command and returns its stdout; an error carries
// stderr so the reader sees what docker said.
func (d *Daemon) Output(ctx context.Context, args ...string) (string, error) {
	return output(d.Docker(ctx, args...), "docker", args)
}

// output runs cmd and returns its stdout; an error carries stderr so the
// reader sees what the engine said.
func output(cmd *exec.Cmd, name string, args []string) (string, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Stop removes every container of this daemon, stops dockerd by its PID,
// ends any containerd shim still serving one of its containers (found by
// Dir in its command line, so only this daemon's), unmounts what is left
// under Dir and removes Dir. It is safe to call more than once.
func (d *Daemon) Stop() error {
	if d.unshare == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.pid != 0 {
		if ids, err := d.Output(ctx, "ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
			d.Docker(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...).Run()
		}
		syscall.Kill(d.pid, syscall.SIGTERM)
	} else if d.unshare.Process != nil {
		// No pidfile yet: --kill-child passes this on to dockerd.
		syscall.Kill(d.unshare.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		if d.pid != 0 {
			syscall.Kill(d.pid, syscall.SIGKILL)
		}
		syscall.Kill(d.unshare.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
	err := removeLeftovers(d.Dir)
	d.unshare = nil
	return err
}

// removeLeftovers kills every process whose command line mentions dir
// (an engine's shims or conmons: dir is unique, so only that engine's),
// unmounts what is mounted at or below dir and removes dir.
func removeLeftovers(dir string) error {
	for _, pid := range pidsMentioning(dir) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	var errs []error
	for _, m := range mountsUnder(dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("umount %s: %v", m, err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pidsMentioning lists processes whose command line contains dir; the
// daemon's directory is unique, so these are this daemon's leftovers.
func pidsMentioning(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			ms = append(ms, mp)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i]) > len(ms[j]) })
	return ms
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Images are the tags the demo builds, one per Dockerfile at the
// repository root. Podman stores them as localhost/<tag>.
var Images = map[string]string{
	"exec":  "initd-demo/exec",
	"shell": "initd-demo/shell",
	"initd": "initd-demo/initd",
	"pause": "initd-demo/pause",
}

// BuildImages builds Dockerfile.exec, Dockerfile.shell, Dockerfile.initd
// and Dockerfile.pause from repo, with initd as bin/initd.
func (d *Daemon) BuildImages(ctx context.Context, repo, initd string) error {
	return BuildImages(ctx, d, repo, initd)
}

// BuildImages builds the images of Images on e. The context is a
// temporary copy that holds only what the Dockerfiles copy, so any initd
// binary can be used and nothing else of the checkout is sent to the
// engine. extra goes before the other build options (Podman's
// --pull=never).
func BuildImages(ctx context.Context, e Engine, repo, initd string, extra ...string) error {
	ctxDir, err := os.MkdirTemp("", "initd-demo-context-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	variants := []string{"exec", "shell", "initd", "pause"}
	copies := map[string]string{
		filepath.Join(repo, "examples", "trap.sh"): "examples/trap.sh",
		initd: "bin/initd",
	}
	for _, v := range variants {
		copies[filepath.Join(repo, "Dockerfile."+v)] = "Dockerfile." + v
	}
	for from, to := range copies {
		if err := copyFile(from, filepath.Join(ctxDir, to)); err != nil {
			return err
		}
	}
	for _, v := range variants {
		args := append([]string{"build"}, extra...)
		args = append(args, "--network", "none", "-q",
			"-f", filepath.Join(ctxDir, "Dockerfile."+v), "-t", Images[v], ctxDir)
		if _, err := e.Output(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies a file with its permission bits (trap.sh and initd must
// stay executable in the image), creating parent directories.
func copyFile(from, to string) error {
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Engine is the docker-compatible command line of a container engine:
// the private dockerd's docker client, or a private Podman.
type Engine interface {
	// Command returns a command of the engine's client, not yet started.
	Command(ctx context.Context, args ...string) *exec.Cmd
	// Output runs one and returns its stdout; an error carries stderr.
	Output(ctx context.Context, args ...string) (string, error)
}

// DockerVariant is one row of the Docker mode: an image and the extra
// "docker run" (or "podman run") options it is started with.
type DockerVariant struct {
	Name    string
	Image   string
	RunArgs []string // before the image: --init, -v, --entrypoint
	Args    []string // after the image
}

// RunDocker starts v detached, waits until trap.sh has started, stops it
// with "docker stop -t timeout" and reports what happened. The container
// is removed afterwards.
func (d *Daemon) RunDocker(ctx context.Context, name string, v DockerVariant, timeout time.Duration) Outcome {
	return RunContainer(ctx, d, name, v, timeout)
}

// RunContainer starts v on e as a detached container called name, waits
// until trap.sh has started, stops it with "stop -t timeout" and reports
// what happened. The logs are read after the stop, when the engine has
// all of them. The container is removed afterwards.
func RunContainer(ctx context.Context, e Engine, name string, v DockerVariant, timeout time.Duration) Outcome {
	o := Outcome{Variant: v.Name}
	args := append([]string{"run", "-d", "--network", "none", "--name", name}, v.RunArgs...)
	args = append(append(args, v.Image), v.Args...)
	if _, err := e.Output(ctx, args...); err != nil {
		o.Err = err
		return o
	}
	defer e.Command(context.Background(), "rm", "-f", name).Run()
	return stopStarted(ctx, e, o, name, "stop", "-t", strconv.Itoa(int(timeout/time.Second)), name)
}

// stopStarted waits until trap.sh has started in container, runs the
// engine's stop command and reports in o what happened: the PID trap.sh
// printed, how long the stop took, the container's exit status and its
// logs. The logs are read after the stop: "podman logs -f" can lose the
// last lines, a read of the finished log does not.
func stopStarted(ctx context.Context, e Engine, o Outcome, container string, stop ...string) Outcome {
	logs := func() string {
		out, _ := e.Command(ctx, "logs", container).CombinedOutput()
		return string(out)
	}
	running := func() bool {
		out, err := e.Output(ctx, "inspect", "-f", "{{.State.Running}}", container)
		return err == nil && strings.TrimSpace(out) == "true"
	}
	if err := waitStarted(ctx, logs, func() bool { return !running() }); err != nil {
		o.Output = logs()
		o.Err = fmt.Errorf("%v: %s", err, strings.TrimSpace(o.Output))
		return o
	}
	o.PID = ParsePID(logs())

	start := time.Now()
	if _, err := e.Output(ctx, stop...); err != nil {
		o.Err = err
		return o
	}
	o.Stop = time.Since(start)
	code, err := e.Output(ctx, "inspect", "-f", "{{.State.ExitCode}}", container)
	if err != nil {
		o.Err = err
		return o
	}
	o.Exit, _ = strconv.Atoi(strings.TrimSpace(code))
	o.Output = logs()
	return o
}
