package dockertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// composeFile is a Compose file as users write one for the shell-form
// image: init: true gives it the daemon's init, which this package's
// dockerd has pointed at initd with --init-path. Version 2.4 is the newest
// format docker-compose v1 reads with init and stop_grace_period.
const composeFile = `version: "2.4"
services:
  trap:
    image: ` + "initd-demo/shell" + `
    init: true
    network_mode: none
    stop_grace_period: 10s
`

// TestCompose starts the shell-form image with docker-compose and stops it
// with "docker-compose stop": through init: true, initd is PID 1, so
// trap.sh finishes its cleanup and the stop takes about a second.
func TestCompose(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("docker-compose")
	if err != nil {
		testenv.SkipOrFail(t, "docker-compose not found (Debian: apt-get install docker-compose)")
	}
	d, _ := daemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !strings.Contains(composeFile, demo.Images["shell"]) {
		t.Fatalf("the Compose file does not use the shell-form image %s", demo.Images["shell"])
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(file, []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, tool, append([]string{"--ansi", "never", "-f", file, "-p", "initdtest"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
		return cmd
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := compose(ctx, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	run("up", "-d")
	t.Cleanup(func() { compose(context.Background(), "down", "-t", "0").Run() })
	id := strings.TrimSpace(run("ps", "-q", "trap"))
	if id == "" {
		t.Fatal("docker-compose ps shows no container for the service")
	}
	logs := func() string {
		out, _ := d.Docker(ctx, "logs", id).CombinedOutput()
		return string(out)
	}
	testenv.WaitFor(t, logs, demo.LineStart, 30*time.Second)
	time.Sleep(500 * time.Millisecond) // trap.sh installs its traps after the first line
	if out, err := d.Output(ctx, "inspect", "-f", "{{.HostConfig.Init}} {{.Config.StopTimeout}}", id); err != nil || strings.TrimSpace(out) != "true 10" {
		t.Errorf("container HostConfig.Init and StopTimeout = %q (%v), want \"true 10\" from init: true and stop_grace_period", strings.TrimSpace(out), err)
	}

	start := time.Now()
	run("stop")
	o := demo.Outcome{Variant: "docker-compose, init: true", Stop: time.Since(start), Output: logs()}
	o.PID = demo.ParsePID(o.Output)
	code, err := d.Output(ctx, "inspect", "-f", "{{.State.ExitCode}}", id)
	if err != nil {
		t.Fatal(err)
	}
	o.Exit, _ = strconv.Atoi(strings.TrimSpace(code))
	t.Logf("%s: PID %d, stop %.1f s, exit %d, %s\n%s", o.Variant, o.PID, o.Stop.Seconds(), o.Exit, o.Verdict(), o.Output)
	testenv.CheckGraceful(t, o, beforeKill)
}
