package dockertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// TestContainerd runs the shell-form image on a private containerd with
// "ctr run", which has no --init: initd is bind-mounted into the container
// and given as its command. The image comes from this package's dockerd
// through "docker save" and "ctr image import". The same image without
// initd is the control: "ctr task kill" reaches nothing and the container
// is killed after the timeout.
func TestContainerd(t *testing.T) {
	t.Parallel()
	if err := demo.ContainerdUsable(); err != nil {
		testenv.SkipOrFail(t, "no containerd can be started: %v", err)
	}
	d, initd := daemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "initd-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := demo.StartContainerd(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cleaning up the private containerd: %v", err)
		}
	})
	t.Logf("containerd %s", c.Version)
	image, err := c.ImportFrom(ctx, d, demo.Images["shell"])
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]demo.CtrVariant{
		"initd": {
			Name:    "ctr run, initd bind-mounted, shell form",
			Image:   image,
			RunArgs: []string{"--mount", "type=bind,src=" + initd + ",dst=/initd,options=rbind:ro"},
			Argv:    []string{"/initd", "--", "/bin/sh", "-c", "./trap.sh"},
		},
		"shell": {
			Name:  "ctr run, shell form",
			Image: image,
			Argv:  []string{"/bin/sh", "-c", "./trap.sh"},
		},
	}
	var mu sync.Mutex
	got := map[string]demo.Outcome{}
	var wg sync.WaitGroup
	for key, v := range variants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := c.RunCtr(ctx, "trap-"+key, v, stopTimeout)
			mu.Lock()
			got[key] = o
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, key := range []string{"initd", "shell"} {
		o := got[key]
		t.Logf("%s: PID %d, stop %.1f s, exit %d, %s\n%s", o.Variant, o.PID, o.Stop.Seconds(), o.Exit, o.Verdict(), o.Output)
		if o.Err != nil {
			t.Errorf("%s: %v\noutput:\n%s", o.Variant, o.Err, o.Output)
		}
	}
	if t.Failed() {
		return
	}
	if o := got["initd"]; o.PID == 1 || o.Stop >= fast || !o.Complete() || o.Trapped() != "TERM" || o.Exit != testenv.ShellFormExit {
		t.Errorf("%s: want trap.sh not PID 1, stopped in under %s with the complete trap output (TERM) and exit %d (trap.sh's own status); got PID %d, %s, exit %d",
			o.Variant, fast, testenv.ShellFormExit, o.PID, o.Stop, o.Exit)
	}
	if o := got["shell"]; o.PID == 1 || o.Stop < stopTimeout || o.Exit != 137 || !o.StartOnly() {
		t.Errorf("%s: want trap.sh not PID 1, killed after the full %s (exit 137) with no trap output; got PID %d, %s, exit %d",
			o.Variant, stopTimeout, o.PID, o.Stop, o.Exit)
	}
}
