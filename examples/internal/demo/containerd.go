package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Containerd is a private containerd: its own root, state directory,
// socket and configuration under Dir, in a network namespace with only
// loopback, and the CRI plugin off. ctr runs in a network namespace of its
// own too (it is ctr, not the daemon, that pulls). Its images come from
// the private dockerd through "docker save", never from a registry.
type Containerd struct {
	Dir     string
	Socket  string
	Log     string
	Version string

	cmd    *exec.Cmd
	exited chan struct{}
}

// ContainerdNamespace is the containerd namespace the examples use.
const ContainerdNamespace = "initd-test"

// ContainerdUsable says why a private containerd cannot run here, or nil.
func ContainerdUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("a private containerd needs root")
	}
	for _, tool := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc", "unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH (Debian: apt-get install containerd runc iproute2 util-linux)", tool)
		}
	}
	return nil
}

// StartContainerd starts containerd in dir (which must exist and be empty)
// and waits until it answers. On error nothing is left running.
func StartContainerd(ctx context.Context, dir string) (*Containerd, error) {
	if err := ContainerdUsable(); err != nil {
		return nil, err
	}
	c := &Containerd{
		Dir:    dir,
		Socket: filepath.Join(dir, "containerd.sock"),
		Log:    filepath.Join(dir, "containerd.log"),
		exited: make(chan struct{}),
	}
	config := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""

[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(c.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// No --fork: a network namespace needs none, so after sh's exec the
	// process started here is containerd itself, stopped by its PID.
	c.cmd = exec.Command("unshare", "--net", "--",
		"sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		"containerd", "--config", config)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting containerd: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	err = waitAnswers(ctx, "containerd", c.Log, 30*time.Second, c.exited, c.Stop, func() bool {
		v, err := c.Output(ctx, "version")
		if err != nil {
			return false
		}
		for _, l := range strings.Split(v, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "Version:" {
				c.Version = f[1] // the server's, which comes last
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Ctr returns a ctr command for this containerd and namespace, in a
// network namespace of its own.
func (c *Containerd) Ctr(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--net", "--", "ctr", "--address", c.Socket, "--namespace", ContainerdNamespace}, args...)
	return exec.CommandContext(ctx, "unshare", full...)
}

// Output runs a ctr command and returns its stdout; an error carries
// stderr.
func (c *Containerd) Output(ctx context.Context, args ...string) (string, error) {
	return output(c.Ctr(ctx, args...), "ctr", args)
}

// ImportFrom copies image from the private dockerd d into this containerd
// ("docker save" into "ctr image import") and returns the name containerd
// knows it by (docker.io/<image>:latest).
func (c *Containerd) ImportFrom(ctx context.Context, d *Daemon, image string) (string, error) {
	save := d.Docker(ctx, "save", image)
	imp := c.Ctr(ctx, "image", "import", "-")
	pr, pw := io.Pipe()
	save.Stdout = pw
	imp.Stdin = pr
	var saveErr, impOut strings.Builder
	save.Stderr = &saveErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		return "", err
	}
	err := save.Run()
	pw.CloseWithError(err)
	if ierr := imp.Wait(); ierr != nil || err != nil {
		return "", fmt.Errorf("docker save %s | ctr image import -: %v %v: %s %s", image, err, ierr, saveErr.String(), impOut.String())
	}
	name := "docker.io/" + image + ":latest"
	list, err := c.Output(ctx, "image", "ls", "-q")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Fields(list) {
		if l == name {
			return name, nil
		}
	}
	return "", fmt.Errorf("ctr image import of %s made no %s; images: %s", image, name, strings.Join(strings.Fields(list), " "))
}

// Stop ends every task and container of the namespace, stops containerd by
// its PID, ends any shim still serving one (found by Dir in its command
// line), unmounts what is left under Dir and removes Dir. It is safe to
// call more than once.
func (c *Containerd) Stop() error {
	if c.cmd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if list, err := c.Output(ctx, "container", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(list) {
			c.Ctr(ctx, "task", "kill", "-s", "SIGKILL", id).Run()
			c.Ctr(ctx, "task", "delete", "-f", id).Run()
			c.Ctr(ctx, "container", "delete", id).Run()
		}
	}
	syscall.Kill(c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
	}
	err := removeLeftovers(c.Dir)
	c.cmd = nil
	return err
}

// CtrVariant is one container run with "ctr run": an image, ctr run
// options (--mount) and the command line, which ctr takes in place of the
// image's entrypoint and command.
type CtrVariant struct {
	Name    string
	Image   string
	RunArgs []string
	Argv    []string
}

// RunCtr runs v in the foreground of "ctr run --rm", so its output and its
// exit status are ctr's, waits until trap.sh has started, and stops it the
// way docker stop does, which ctr has no command for: "ctr task kill"
// (SIGTERM to the container's first process), then SIGKILL if it is
// still there after timeout.
func (c *Containerd) RunCtr(ctx context.Context, name string, v CtrVariant, timeout time.Duration) Outcome {
	o := Outcome{Variant: v.Name}
	// The stdio FIFOs and runc's state under Dir too, not in ctr's
	// defaults under /run/containerd.
	args := append([]string{"run", "--rm",
		"--fifo-dir", filepath.Join(c.Dir, "fifo"),
		"--runc-root", filepath.Join(c.Dir, "runc"),
	}, v.RunArgs...)
	args = append(append(args, v.Image, name), v.Argv...)
	err := runAndStop(ctx, &o, c.Ctr(ctx, args...), "ctr run", timeout,
		func() error {
			_, err := c.Output(ctx, "task", "kill", "-s", "SIGTERM", name)
			return err
		},
		func(ctx context.Context) { c.Ctr(ctx, "task", "kill", "-s", "SIGKILL", name).Run() })
	if o.Err != nil {
		return o
	}
	// ctr run exits with the task's status, 128+n for a death by signal n.
	var ee *exec.ExitError
	switch {
	case err == nil:
		o.Exit = 0
	case errors.As(err, &ee) && ee.Exited():
		o.Exit = ee.ExitCode()
	default:
		o.Err = fmt.Errorf("ctr run: %v", err)
	}
	return o
}
