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

// BaseTag is the image every Dockerfile starts FROM. With the tag present
// the build resolves it locally and never looks for a registry.
const BaseTag = "debian:stable"

// Base kinds: how debian:stable is made without a registry.
const (
	BaseDebootstrap = "debootstrap" // real Debian, downloaded once and cached
	BaseHost        = "host"        // a stand-in from the host's dash and busybox, instant
	BaseAuto        = "auto"        // debootstrap, falling back to host when it fails
)

// Step runs f, telling w what it is doing and, every ten seconds while it
// lasts, how long it has taken, then how long it took in all.
func Step(w io.Writer, what string, f func() error) error {
	start := time.Now()
	fmt.Fprintf(w, "%s ...\n", what)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "  still %s (%s elapsed)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	err := f()
	close(done)
	if err != nil {
		fmt.Fprintf(w, "  failed after %s: %v\n", time.Since(start).Round(100*time.Millisecond), err)
		return err
	}
	fmt.Fprintf(w, "  done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// EnsureBase makes sure the daemon has debian:stable. kind is one of the
// Base constants; suite is the Debian suite for debootstrap ("stable");
// cache holds the root file system tarball so later runs import it in a
// few seconds instead of bootstrapping again.
func (d *Daemon) EnsureBase(ctx context.Context, w io.Writer, kind, suite, cache string) error {
	return EnsureBase(ctx, d, w, kind, suite, cache)
}

// EnsureBase makes sure e has debian:stable, made as the Daemon method
// says. Engines running at the same time share the cache: the first
// bootstraps, the others wait for its tarball.
func EnsureBase(ctx context.Context, e Engine, w io.Writer, kind, suite, cache string) error {
	if e.Command(ctx, "image", "inspect", BaseTag).Run() == nil {
		return nil
	}
	if kind == BaseHost {
		return Step(w, "making "+BaseTag+" from the host's dash and busybox", func() error {
			return importHost(ctx, e)
		})
	}
	tarball := filepath.Join(cache, "debian-"+suite+"-minbase.tar")
	unlock, err := lockCache(cache)
	if err != nil {
		return err
	}
	if _, err := os.Stat(tarball); err != nil {
		err := Step(w, "bootstrapping Debian "+suite+" with debootstrap (once; about 30-50 s)", func() error {
			return debootstrap(ctx, suite, tarball)
		})
		if err != nil {
			unlock()
			if kind == BaseAuto {
				fmt.Fprintf(w, "falling back to a stand-in %s built from the host's dash and busybox\n", BaseTag)
				return Step(w, "making "+BaseTag+" from the host's dash and busybox", func() error {
					return importHost(ctx, e)
				})
			}
			return err
		}
	}
	unlock()
	return Step(w, "importing "+tarball+" as "+BaseTag, func() error {
		return importTar(ctx, e, tarball)
	})
}

// lockCache takes an exclusive lock on the cache directory, so two tests
// or demos started together bootstrap Debian once, not twice.
func lockCache(cache string) (unlock func(), err error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %v", cache, err)
	}
	return func() { f.Close() }, nil
}

// importTar imports a root file system tarball as debian:stable, with the
// PATH and CMD of the official image. The name is given in full, which
// both engines take as it is (Podman would otherwise file a bare name
// under localhost/).
func importTar(ctx context.Context, e Engine, tarball string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := e.Command(ctx, "import",
		"-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"-c", `CMD ["bash"]`, "-", "docker.io/library/"+BaseTag)
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("import: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// debootstrap writes a trimmed minbase Debian root file system to tarball.
// It works next to the tarball and renames at the end, so an interrupted
// run never leaves a truncated cache behind.
func debootstrap(ctx context.Context, suite, tarball string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap not found (Debian: apt-get install debootstrap)")
	}
	if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(tarball), "debootstrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	logf := filepath.Join(work, "debootstrap.log")
	out, err := os.Create(logf)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", suite, root, "http://deb.debian.org/debian")
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	out.Close()
	if err != nil {
		return fmt.Errorf("debootstrap %s: %v; last lines of its log:\n%s", suite, err, tail(logf, 10))
	}
	// What the official image also leaves out: package lists, caches,
	// documentation and logs. About 80 MB remain.
	for _, p := range []string{"var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/log", "debootstrap"} {
		os.RemoveAll(filepath.Join(root, p))
	}
	tmp := tarball + ".part"
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "--numeric-owner", "-cf", tmp, ".")
	if b, err := tarCmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tar: %v: %s", err, b)
	}
	return os.Rename(tmp, tarball)
}

// importHost builds a minimal stand-in for debian:stable from the host:
// dash as /bin/sh (as on Debian, where "sh -c" forks its last command
// instead of exec'ing it; busybox's sh would exec and hide the very
// problem the demo shows), bash, their shared libraries and busybox for
// the small tools trap.sh uses (sleep).
func importHost(ctx context.Context, e Engine) error {
	root, err := os.MkdirTemp("", "initd-demo-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	dash, err := exec.LookPath("dash")
	if err != nil {
		return errors.New("dash not found; the stand-in needs it as /bin/sh")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("busybox not found (Debian: apt-get install busybox)")
	}
	bins := map[string]string{dash: "bin/sh", busybox: "bin/busybox"}
	if bash, err := exec.LookPath("bash"); err == nil {
		bins[bash] = "bin/bash"
	}
	for from, to := range bins {
		if err := copyFile(from, filepath.Join(root, to)); err != nil {
			return err
		}
		libs, err := sharedLibs(from)
		if err != nil {
			return err
		}
		for _, lib := range libs {
			if err := copyFile(lib, filepath.Join(root, lib)); err != nil {
				return err
			}
		}
	}
	list, err := exec.CommandContext(ctx, busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		p := filepath.Join(root, "bin", applet)
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			os.Symlink("busybox", p)
		}
	}
	for _, dir := range []string{"tmp", "proc", "sys", "dev", "etc", "root"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	tarball := filepath.Join(root, "..", filepath.Base(root)+".tar")
	defer os.Remove(tarball)
	if b, err := exec.CommandContext(ctx, "tar", "-C", root, "--numeric-owner", "-cf", tarball, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, b)
	}
	return importTar(ctx, e, tarball)
}

// sharedLibs lists the absolute paths of the libraries ldd names for bin.
func sharedLibs(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		// A static binary: ldd exits non-zero and there is nothing to copy.
		return nil, nil
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				libs = append(libs, f)
			}
		}
	}
	return libs, nil
}
