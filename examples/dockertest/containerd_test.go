package dockertest

import (
	"context"
	"os"
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
	got := runAll(variants, func(key string, v demo.CtrVariant) demo.Outcome {
		return c.RunCtr(ctx, "trap-"+key, v, stopTimeout)
	})
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
	testenv.CheckGraceful(t, got["initd"], beforeKill)
	testenv.CheckKilled(t, got["shell"], stopTimeout, 0)
}
