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
	if err := demo.NamespaceUsable(); err != nil {
		testenv.SkipOrFail(t, "namespace mode cannot run: %v", err)
	}
	initd := testenv.Initd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	rows, err := run(ctx, []string{"-mode", "namespace", "-initd", initd}, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("demo failed: %v", err)
	}
	got := map[string]demo.Outcome{}
	for _, r := range rows {
		got[r.Variant] = r
	}
	const timeout, fast = 10 * time.Second, 3 * time.Second
	if o := got[labelExec]; o.PID != 1 || o.Stop >= fast || !o.Complete() || o.Exit != 0 {
		t.Errorf("exec form: want PID 1, under %s, complete trap output, exit 0; got %+v", fast, o)
	}
	if o := got[labelShell]; o.PID == 1 || o.PID == 0 || o.Stop < timeout || o.Exit != 137 || !o.StartOnly() {
		t.Errorf("shell form: want trap.sh not PID 1, killed after %s with exit 137 and no trap output; got %+v", timeout, o)
	}
	if o := got[labelInitd]; o.PID == 1 || o.PID == 0 || o.Stop >= fast || !o.Complete() || o.Exit != 143 {
		t.Errorf("initd: want trap.sh not PID 1, under %s, complete trap output, exit 143; got %+v", fast, o)
	}
	for _, want := range []string{"Linux PID namespaces", "| " + labelExec + " | 1 |", "| " + labelInitd + " |", "graceful", "initd version"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the printed table lacks %q", want)
		}
	}
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
