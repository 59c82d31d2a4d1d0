package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// TestNamespaceMode runs the demo command as "make demo" would on a
// machine without Docker, and checks the table it prints.
func TestNamespaceMode(t *testing.T) {
	t.Parallel()
	if err := demo.NamespaceUsable(); err != nil {
		testenv.SkipOrFail(t, "namespace mode cannot run: %v", err)
	}
	initd := testenv.Initd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, out := runDemo(ctx, t, "-mode", "namespace", "-kube=false", "-podman=false", "-initd", initd)
	// A graceful stop must end before the SIGKILL at timeout; how short it
	// is, is the table's figure, not a bound here (see dockertest's
	// beforeKill).
	const timeout = 10 * time.Second
	const fast = timeout - 2*time.Second
	if o := got[labelExec]; o.PID != 1 || o.Stop >= fast || !o.Complete() || o.Exit != 0 {
		t.Errorf("exec form: want PID 1, under %s, complete trap output, exit 0; got %+v", fast, o)
	}
	if o := got[labelShell]; o.PID == 1 || o.PID == 0 || o.Stop < timeout || o.Exit != 137 || !o.StartOnly() {
		t.Errorf("shell form: want trap.sh not PID 1, killed after %s with exit 137 and no trap output; got %+v", timeout, o)
	}
	if o := got[labelInitd]; o.PID == 1 || o.PID == 0 || o.Stop >= fast || !o.Complete() || o.Exit != testenv.ShellFormExit {
		t.Errorf("initd: want trap.sh not PID 1, under %s, complete trap output, exit %d; got %+v", fast, testenv.ShellFormExit, o)
	}
	for _, want := range []string{"Linux PID namespaces", "| " + labelExec + " | 1 |", "| " + labelInitd + " |", "graceful", "initd version"} {
		if !strings.Contains(out, want) {
			t.Errorf("the printed table lacks %q", want)
		}
	}
}

// TestPodmanDemo runs the demo command as "make demo" does on a machine
// with Podman (in namespace mode, without peers, to be quick) and checks
// the second table: the three pod manifests under podman kube play.
func TestPodmanDemo(t *testing.T) {
	t.Parallel()
	if err := demo.NamespaceUsable(); err != nil {
		testenv.SkipOrFail(t, "namespace mode cannot run: %v", err)
	}
	if err := demo.PodmanUsable(); err != nil {
		testenv.SkipOrFail(t, "no Podman can run: %v", err)
	}
	initd := testenv.Initd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	got, out := runDemo(ctx, t, "-mode", "namespace", "-peers=false", "-kube=false", "-initd", initd)
	exec, shell, withInitd := demo.Pods[0].Label, demo.Pods[1].Label, demo.Pods[2].Label
	const timeout = 10 * time.Second
	const fast = timeout - 2*time.Second // before the SIGKILL, as above
	if o := got[exec]; o.PID != 1 || o.Stop >= fast || !o.Complete() || o.Exit != 0 {
		t.Errorf("%s: want PID 1, under %s, complete trap output, exit 0; got %+v", exec, fast, o)
	}
	if o := got[shell]; o.PID == 1 || o.PID == 0 || o.Stop < timeout-time.Second/2 || o.Exit != 137 || !o.StartOnly() {
		t.Errorf("%s: want trap.sh not PID 1, killed after %s with exit 137 and no trap output; got %+v", shell, timeout, o)
	}
	if o := got[withInitd]; o.PID == 1 || o.PID == 0 || o.Stop >= fast || !o.Complete() || o.Exit != testenv.ShellFormExit {
		t.Errorf("%s: want trap.sh not PID 1, under %s, complete trap output, exit %d; got %+v", withInitd, fast, testenv.ShellFormExit, o)
	}
	first, second := strings.Index(out, "Linux PID namespaces"), strings.Index(out, "podman kube play")
	if first < 0 || second < first {
		t.Errorf("want the namespace table first, then the Podman table; got:\n%s", out)
	}
	for _, want := range []string{"| " + exec + " | 1 |", "| " + withInitd + " |", "podman pod stop -t 10", "preStop"} {
		if !strings.Contains(out[max(second, 0):], want) {
			t.Errorf("the Podman table lacks %q", want)
		}
	}
}

// runDemo runs the demo command with args and logs what it printed. It
// returns the rows by label and the standard output.
func runDemo(ctx context.Context, t *testing.T, args ...string) (map[string]demo.Outcome, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	rows, err := run(ctx, args, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("demo failed: %v", err)
	}
	got := map[string]demo.Outcome{}
	for _, r := range rows {
		got[r.Variant] = r
	}
	return got, stdout.String()
}

// TestFlags checks that bad flags are refused before anything starts.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "kubernetes"},
		{"-base", "alpine"},
		{"-timeout", "1500ms"},
		{"extra"},
	} {
		var out bytes.Buffer
		if _, err := run(context.Background(), args, &out, &out); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
