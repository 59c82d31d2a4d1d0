package dockertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// TestInitdImageLoad loads the initd image of scripts/image (what "make
// release" writes) with "docker load", runs it, and uses it as the
// source of "COPY --from=" in a Dockerfile: the shell form with initd
// copied in stops with trap.sh's complete cleanup.
func TestInitdImageLoad(t *testing.T) {
	t.Parallel()
	d, initd := daemon(t)
	repo, err := demo.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	archive, err := demo.InitdImage(ctx, repo, initd, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	name, err := demo.ImageName(archive)
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.TrimPrefix(name, "docker.io/library/")
	if _, err := d.Output(ctx, "load", "-i", archive); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Docker(context.Background(), "rmi", "-f", tag, "initd-demo/copy-from").Run() })
	want, err := exec.Command(initd, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Output(ctx, "run", "--rm", "--network", "none", tag, "--version")
	if err != nil || got != string(want) {
		t.Fatalf("docker run %s --version: %q %v, want %q", tag, got, err, want)
	}

	ctxDir := t.TempDir()
	dockerfile := "FROM " + demo.Images["shell"] + "\nCOPY --from=" + tag + " /initd /initd\n" +
		`ENTRYPOINT ["/initd", "--", "/bin/sh", "-c", "./trap.sh"]` + "\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Output(ctx, "build", "--network", "none", "-q", "-t", "initd-demo/copy-from", ctxDir); err != nil {
		t.Fatal(err)
	}
	o := d.RunDocker(ctx, "copy-from", demo.DockerVariant{Name: "COPY --from=" + tag, Image: "initd-demo/copy-from"}, stopTimeout)
	t.Logf("%s: PID %d, stop %.1f s, exit %d, %s\n%s", o.Variant, o.PID, o.Stop.Seconds(), o.Exit, o.Verdict(), o.Output)
	testenv.CheckGraceful(t, o, beforeKill)
}
