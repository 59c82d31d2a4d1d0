// Command demo runs the talk's comparison side by side: trap.sh as the
// exec-form entrypoint, the shell-form entrypoint, the shell form under
// initd and, when installed, under tini, dumb-init and catatonit. Each is
// stopped the way "docker stop" stops a container and the results are
// printed as a table.
//
// It uses a private Docker engine when it can start one (root, dockerd),
// and plain Linux PID namespaces otherwise. A second table follows, the
// talk's Kubernetes half: the pod manifests examples/pod-*.yml applied
// with kubectl to a private single-node Kubernetes and stopped with
// "kubectl delete pod", when the node's binaries are cached ("make kube"
// builds them; the demo never starts that build itself). Without them,
// or when no node can start here, the same manifests are played with
// "podman kube play" on a private Podman and stopped with "podman pod
// stop", and the demo says so.
//
//	cd examples && go run ./demo -initd ../bin/initd
//	go run ./demo -mode namespace     # skip Docker even when it is there
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/initd/initd/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// Modes.
const (
	modeAuto      = "auto"
	modeDocker    = "docker"
	modeNamespace = "namespace"
)

// run is the whole command; it returns the rows it printed so a test can
// check them. Progress goes to stderr, the result to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) ([]demo.Outcome, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	initdPath := fs.String("initd", "", "initd binary to use (default: make build, then bin/initd)")
	mode := fs.String("mode", modeAuto, "engine: auto (Docker if usable, else namespaces), docker, or namespace")
	timeout := fs.Duration("timeout", 10*time.Second, "how long a stop waits before SIGKILL, as docker stop -t")
	base := fs.String("base", demo.BaseAuto, "how to make debian:stable without a registry: auto, debootstrap or host")
	suite := fs.String("suite", "stable", "Debian suite for debootstrap")
	cacheDefault, err := os.UserCacheDir()
	if err == nil {
		cacheDefault = filepath.Join(cacheDefault, "initd-demo")
	}
	cache := fs.String("cache", cacheDefault, "where the bootstrapped Debian tarball is kept between runs")
	peers := fs.Bool("peers", true, "add rows for tini, dumb-init and catatonit when installed")
	kube := fs.Bool("kube", true, "add the table of the pod manifests on a private kubelet when its binaries are cached (make kube)")
	podman := fs.Bool("podman", true, "without a kubelet, add the table of the pod manifests under podman kube play when Podman can run")
	repoFlag := fs.String("repo", "", "the initd checkout (default: found from the current directory)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch *mode {
	case modeAuto, modeDocker, modeNamespace:
	default:
		return nil, fmt.Errorf("-mode must be auto, docker or namespace, not %q", *mode)
	}
	switch *base {
	case demo.BaseAuto, demo.BaseDebootstrap, demo.BaseHost:
	default:
		return nil, fmt.Errorf("-base must be auto, debootstrap or host, not %q", *base)
	}
	if *timeout < time.Second || *timeout%time.Second != 0 {
		return nil, errors.New("-timeout must be whole seconds, as docker stop takes it")
	}

	repo := *repoFlag
	if repo == "" {
		if repo, err = demo.FindRepo("."); err != nil {
			return nil, err
		}
	}
	initd := *initdPath
	if initd == "" {
		err = demo.Step(stderr, "building initd (make build)", func() error {
			initd, err = demo.BuildInitd(repo)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if initd, err = filepath.Abs(initd); err != nil {
		return nil, err
	}
	version, err := exec.Command(initd, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %v (run make build first, or leave out -initd)", initd, err)
	}

	var rows []demo.Outcome
	var engine string
	if *mode != modeNamespace {
		rows, engine, err = runDocker(ctx, stderr, repo, initd, *timeout, *base, *suite, *cache, *peers)
		if err != nil {
			if *mode == modeDocker || ctx.Err() != nil {
				return nil, err
			}
			fmt.Fprintf(stderr, "no usable Docker engine (%v); using plain PID namespaces instead\n", err)
		}
	}
	if rows == nil {
		if err := demo.NamespaceUsable(); err != nil {
			return nil, fmt.Errorf("namespace mode: %v", err)
		}
		rows, engine = runNamespaces(ctx, stderr, repo, initd, *timeout, *peers)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	fmt.Fprintf(stdout, "\n%s, stop = SIGTERM to PID 1, SIGKILL after %s\n", engine, *timeout)
	fmt.Fprintf(stdout, "%s, %s\n\n", strings.TrimSpace(string(version)), time.Now().Format("2006-01-02"))
	demo.WriteTable(stdout, rows)
	fmt.Fprintln(stdout, "\nThe shell form's PID 1 is sh, which ignores SIGTERM (a PID 1 without a handler")
	fmt.Fprintln(stdout, "ignores it) and does not pass it on: trap.sh never hears it and is killed after the")
	fmt.Fprintln(stdout, "timeout. initd signals the shell's whole process group and then waits for trap.sh")
	fmt.Fprintln(stdout, "to finish its cleanup. The peers exit as soon as sh dies, and the kernel then kills")
	fmt.Fprintln(stdout, "trap.sh with the rest of the container: before its handler ran, or in the middle of it.")
	standIn := ""
	if *kube {
		pods, heading, err := runKube(ctx, stderr, repo, initd, *base, *suite, *cache)
		var setup kubeSetupError
		switch {
		case errors.As(err, &setup) && ctx.Err() == nil:
			fmt.Fprintf(stderr, "no Kubernetes table: %v\n", setup.error)
			standIn = "No kubelet here (" + setup.Reason() + "): Podman's kube play stands in.\n"
		case err != nil:
			return rows, fmt.Errorf("kubernetes: %v", err)
		default:
			fmt.Fprintf(stdout, "\n%s\n\n", heading)
			demo.WriteTable(stdout, pods)
			fmt.Fprintln(stdout)
			for _, n := range demo.KubeNotes {
				fmt.Fprintln(stdout, n)
			}
			return finish(append(rows, pods...))
		}
	}
	if *podman {
		pods, version, err := runPodman(ctx, stderr, repo, initd, *timeout, *base, *suite, *cache)
		var setup podmanSetupError
		switch {
		case errors.As(err, &setup) && ctx.Err() == nil:
			// Not installed, or unable to run here: the first table
			// stands on its own.
			fmt.Fprintf(stderr, "no Podman table: %v\n", setup.error)
		case err != nil:
			return rows, fmt.Errorf("podman: %v", err)
		default:
			fmt.Fprintf(stdout, "\n%sPodman %s (private state, --network none), podman kube play examples/pod-*.yml,\n", standIn, version)
			fmt.Fprintf(stdout, "stop = podman pod stop -t %d: SIGTERM to every container, SIGKILL after %s\n\n", int(*timeout/time.Second), *timeout)
			demo.WriteTable(stdout, pods)
			fmt.Fprintln(stdout, "\n"+demo.KubeNote(version))
			rows = append(rows, pods...)
		}
	}
	return finish(rows)
}

// finish returns the rows, and an error if one of them failed.
func finish(rows []demo.Outcome) ([]demo.Outcome, error) {
	for _, r := range rows {
		if r.Err != nil {
			return rows, fmt.Errorf("%s: %v", r.Variant, r.Err)
		}
	}
	return rows, nil
}

// kubeSetupError says that no Kubernetes node can run here: its binaries
// are not built, or it could not be set up.
type kubeSetupError struct{ error }

// Reason is the short form for the table's heading.
func (e kubeSetupError) Reason() string {
	var nb *demo.KubeNotBuilt
	if errors.As(e.error, &nb) {
		return "its binaries are not built; make kube builds them, once, in about 15 minutes"
	}
	return "it could not start; the reason is above"
}

// runKube runs the repository's pod manifests on a private Kubernetes
// node, which it starts and, before returning, stops, when the node's
// binaries are cached; it never builds them, which takes minutes. It
// returns the rows and the table's heading. Errors before the pods are
// applied are kubeSetupErrors.
func runKube(ctx context.Context, w io.Writer, repo, initd, base, suite, cache string) ([]demo.Outcome, string, error) {
	if err := demo.KubeUsable(); err != nil {
		return nil, "", kubeSetupError{err}
	}
	bins, err := demo.KubeBinaries(repo, false, w)
	if err != nil {
		return nil, "", kubeSetupError{err}
	}
	if err := demo.PodmanUsable(); err != nil {
		return nil, "", kubeSetupError{fmt.Errorf("no Podman to build the images with: %v", err)}
	}
	rows, heading, err := demo.KubeDemo(ctx, w, repo, initd, bins, base, suite, cache)
	if err != nil && rows == nil {
		return nil, "", kubeSetupError{err}
	}
	return rows, heading, err
}

// podmanSetupError says that Podman cannot run here: it is missing, or its
// private instance, base image or images could not be made.
type podmanSetupError struct{ error }

// runPodman plays the repository's pod manifests on a private Podman,
// which it sets up and, before returning, removes, and stops each pod the
// way "kubectl delete pod" stops it: SIGTERM, SIGKILL after the timeout.
// It returns the rows and podman's version.
// Errors before the pods are played are podmanSetupErrors.
func runPodman(ctx context.Context, w io.Writer, repo, initd string, timeout time.Duration, base, suite, cache string) ([]demo.Outcome, string, error) {
	if err := demo.PodmanUsable(); err != nil {
		return nil, "", podmanSetupError{err}
	}
	dir, err := os.MkdirTemp("", "initd-demo-podman-")
	if err != nil {
		return nil, "", err
	}
	var p *demo.Podman
	err = demo.Step(w, "setting up a private Podman (no network, own directories)", func() error {
		p, err = demo.NewPodman(ctx, dir)
		return err
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", podmanSetupError{err}
	}
	defer func() {
		if err := p.Stop(); err != nil {
			fmt.Fprintf(w, "cleaning up the private Podman: %v\n", err)
		}
	}()
	if err := p.EnsureBase(ctx, w, base, suite, cache); err != nil {
		return nil, "", podmanSetupError{err}
	}
	if err := demo.Step(w, "building the images with podman build", func() error {
		return p.BuildImages(ctx, repo, initd)
	}); err != nil {
		return nil, "", podmanSetupError{err}
	}
	rows, err := runAll(ctx, w, fmt.Sprintf("playing %d pods side by side and stopping them (up to %s)", len(demo.Pods), timeout), demo.Pods,
		func(_ int, pod demo.Pod) demo.Outcome {
			return p.RunPod(ctx, pod.Label, filepath.Join(repo, "examples", pod.File), pod.Name, pod.Container(), timeout)
		})
	return rows, p.Version, err
}

// runAll runs one row per variant, side by side, while Step tells w what
// it is doing, and returns the rows in the variants' order.
func runAll[V any](ctx context.Context, w io.Writer, what string, variants []V, run func(i int, v V) demo.Outcome) ([]demo.Outcome, error) {
	rows := make([]demo.Outcome, len(variants))
	err := demo.Step(w, what, func() error {
		var wg sync.WaitGroup
		for i, v := range variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows[i] = run(i, v)
			}()
		}
		wg.Wait()
		return ctx.Err()
	})
	return rows, err
}

// Row labels, the same in both modes.
const (
	labelExec  = "exec form"
	labelShell = "shell form"
	labelInitd = "shell form + initd"
)

func peerLabel(name string) string { return "shell form + " + name + " (peer)" }

// runDocker runs the variants as containers on a private dockerd, which it
// starts and, before returning, stops.
func runDocker(ctx context.Context, w io.Writer, repo, initd string, timeout time.Duration, base, suite, cache string, peers bool) ([]demo.Outcome, string, error) {
	if err := demo.DockerUsable(); err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "initd-demo-docker-")
	if err != nil {
		return nil, "", err
	}
	var d *demo.Daemon
	err = demo.Step(w, "starting a private dockerd (no network, own directories)", func() error {
		d, err = demo.StartDaemon(ctx, dir)
		return err
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	defer func() {
		if err := d.Stop(); err != nil {
			fmt.Fprintf(w, "cleaning up the private dockerd: %v\n", err)
		}
	}()
	server, _ := d.Output(ctx, "version", "--format", "{{.Server.Version}}")
	engine := "Docker Engine " + strings.TrimSpace(server) + " (private daemon, --network none)"

	if err := d.EnsureBase(ctx, w, base, suite, cache); err != nil {
		return nil, "", err
	}
	if err := demo.Step(w, "building the exec, shell and initd images", func() error {
		return d.BuildImages(ctx, repo, initd)
	}); err != nil {
		return nil, "", err
	}

	variants := []demo.DockerVariant{
		{Name: labelExec, Image: demo.Images["exec"]},
		{Name: labelShell, Image: demo.Images["shell"]},
		{Name: labelInitd, Image: demo.Images["initd"]},
	}
	if peers {
		// docker run --init uses the daemon's docker-init (tini, on Debian).
		variants = append(variants, demo.DockerVariant{Name: peerLabel("docker run --init"), Image: demo.Images["shell"], RunArgs: []string{"--init"}})
		for _, p := range demo.Peers {
			if bin := p.Find(); bin != "" {
				// The shell-form image with the peer bind-mounted in and
				// made the entrypoint in front of the same sh -c.
				variants = append(variants, demo.DockerVariant{
					Name:    peerLabel(p.Name),
					Image:   demo.Images["shell"],
					RunArgs: []string{"-v", bin + ":/peer-init:ro", "--entrypoint", "/peer-init"},
					Args:    p.Argv,
				})
			}
		}
	}
	rows, err := runAll(ctx, w, fmt.Sprintf("running %d variants side by side and stopping them (up to %s)", len(variants), timeout), variants,
		func(i int, v demo.DockerVariant) demo.Outcome {
			return d.RunDocker(ctx, fmt.Sprintf("initd-demo-%d", i), v, timeout)
		})
	return rows, engine, err
}

// runNamespaces runs the same variants as PID 1 of plain PID namespaces.
func runNamespaces(ctx context.Context, w io.Writer, repo, initd string, timeout time.Duration, peers bool) ([]demo.Outcome, string) {
	// The shell form's behaviour is dash's: it forks the last command of
	// "sh -c" rather than exec'ing it. Use dash even where /bin/sh is
	// another shell, as it is in a Debian image.
	sh := "/bin/sh"
	if dash, err := exec.LookPath("dash"); err == nil {
		sh = dash
	}
	withSh := func(argv []string) []string {
		out := append([]string(nil), argv...)
		for i, a := range out {
			if a == "/bin/sh" {
				out[i] = sh
			}
		}
		return out
	}
	variants := []demo.NSVariant{
		{Name: labelExec, Argv: []string{"./trap.sh"}},
		{Name: labelShell, Argv: []string{sh, "-c", "./trap.sh"}},
		{Name: labelInitd, Argv: []string{initd, "--", sh, "-c", "./trap.sh"}},
	}
	if peers {
		for _, p := range demo.Peers {
			if bin := p.Find(); bin != "" {
				variants = append(variants, demo.NSVariant{Name: peerLabel(p.Name), Argv: append([]string{bin}, withSh(p.Argv)...)})
			}
		}
	}
	dir := filepath.Join(repo, "examples")
	rows, _ := runAll(ctx, w, fmt.Sprintf("running %d variants side by side in PID namespaces and stopping them (up to %s)", len(variants), timeout), variants,
		func(_ int, v demo.NSVariant) demo.Outcome {
			return demo.RunNamespace(ctx, dir, v, timeout)
		})
	return rows, "Linux PID namespaces (no Docker), sh = " + sh
}
