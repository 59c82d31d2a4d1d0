// Package podmantest runs the talk's images and pods on a real Podman:
// a private rootful Podman (own storage, run root, temporary directory and
// containers.conf) with no network, which this test sets up and removes.
package podmantest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// stopTimeout is podman stop's default and the manifests' grace period.
const stopTimeout = 10 * time.Second

// beforeKill bounds a graceful stop: it must end before Podman's SIGKILL
// at stopTimeout, with a margin for Podman's own bookkeeping. How short it
// is (trap.sh's cleanup takes about a second) is the demo table's figure,
// not a test's bound; a broken init fails on the SIGKILL itself (137, no
// trap output, a stop at stopTimeout).
const beforeKill = stopTimeout - 2*time.Second

var shared = testenv.Shared[*demo.Podman]{
	Name:    "the private Podman",
	Missing: "no Podman can run",
	TempDir: "initd-podman-",
	Usable:  demo.PodmanUsable,
	Start: func(ctx context.Context, dir, _ string) (*demo.Podman, error) {
		return demo.NewPodman(ctx, dir)
	},
}

func TestMain(m *testing.M) { shared.Main(m) }

// podman returns the Podman every test of this package shares, with the
// base image and the demo's images built, setting it up on first use.
func podman(t *testing.T) (*demo.Podman, string) {
	t.Helper()
	return shared.Get(t)
}

func logOutcome(t *testing.T, o demo.Outcome) {
	t.Helper()
	t.Logf("%s: PID %d, stop %.1f s, exit %d, %s\n%s", o.Variant, o.PID, o.Stop.Seconds(), o.Exit, o.Verdict(), o.Output)
}

// stopGraceful runs v on p as a container called name, stops it and
// checks that initd gave trap.sh its whole cleanup.
func stopGraceful(t *testing.T, p *demo.Podman, name string, v demo.DockerVariant) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := demo.RunContainer(ctx, p, name, v, stopTimeout)
	logOutcome(t, o)
	testenv.CheckGraceful(t, o, beforeKill)
}

// TestPodmanRunInit: "podman run --init --init-path initd" on the shell
// form makes initd PID 1, mounted as /run/podman-init.
func TestPodmanRunInit(t *testing.T) {
	t.Parallel()
	p, initd := podman(t)
	stopGraceful(t, p, "run-init", demo.DockerVariant{
		Name:    "podman run --init --init-path initd, shell form",
		Image:   demo.Images["shell"],
		RunArgs: []string{"--init", "--init-path", initd},
	})
}

// TestPodmanImage: the Dockerfile.initd image, initd as its entrypoint.
func TestPodmanImage(t *testing.T) {
	t.Parallel()
	p, _ := podman(t)
	stopGraceful(t, p, "image-initd", demo.DockerVariant{
		Name:  "Dockerfile.initd image",
		Image: demo.Images["initd"],
	})
}

// TestPodmanKubePlay plays each of the repository's pod manifests and
// stops it with "podman pod stop": the lesson of "kubectl delete pod".
func TestPodmanKubePlay(t *testing.T) {
	t.Parallel()
	p, _ := podman(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel) // the parallel subtests run after this function returns
	for _, pod := range demo.Pods {
		t.Run(pod.Name, func(t *testing.T) {
			t.Parallel()
			o := p.RunPod(ctx, pod.Label, filepath.Join("..", pod.File), pod.Name, pod.Container(), stopTimeout)
			logOutcome(t, o)
			if o.Err != nil {
				t.Fatalf("%v\noutput:\n%s", o.Err, o.Output)
			}
			switch pod.Name {
			case "trap-exec":
				testenv.CheckExecForm(t, o, beforeKill)
			case "trap-shell":
				testenv.CheckKilled(t, o, stopTimeout, time.Second/2)
			case "trap-initd":
				testenv.CheckGraceful(t, o, beforeKill)
			default:
				t.Fatalf("no expectation for pod %s", pod.Name)
			}
		})
	}
}

// TestPodmanInfraPause: a pod whose infra container is the Dockerfile.pause
// image, set as [engine] infra_image. The infra container must be initd in
// pause mode, and "podman pod stop" must end it with status 0 (initd's
// answer to SIGTERM in pause mode), not 137 (killed after the timeout).
func TestPodmanInfraPause(t *testing.T) {
	t.Parallel()
	p, _ := podman(t)
	q, err := p.WithInfraImage("localhost/" + demo.Images["pause"] + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// pod-initd.yml under a name of its own, so it can run next to the
	// kube play test.
	manifest, err := os.ReadFile("../pod-initd.yml")
	if err != nil {
		t.Fatal(err)
	}
	const pod = "pause-initd"
	file := filepath.Join(t.TempDir(), "pod.yml")
	renamed := bytes.Replace(manifest, []byte("name: trap-initd"), []byte("name: "+pod), 1)
	if bytes.Equal(renamed, manifest) {
		t.Fatal("pod-initd.yml has no \"name: trap-initd\" to rename")
	}
	if err := os.WriteFile(file, renamed, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Output(ctx, "kube", "play", "--network", "none", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Command(context.Background(), "pod", "rm", "-f", "-t", "0", pod).Run() })
	out, err := q.Output(ctx, "pod", "inspect", "-f", "{{.InfraContainerID}}", pod)
	if err != nil {
		t.Fatal(err)
	}
	infra := strings.TrimSpace(out)
	pidOut, err := q.Output(ctx, "inspect", "-f", "{{.State.Pid}}", infra)
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/" + strings.TrimSpace(pidOut) + "/cmdline")
	if err != nil {
		t.Fatalf("the infra container's process: %v", err)
	}
	if got := strings.TrimRight(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})), " "); got != "/initd --pause" {
		t.Fatalf("infra container runs %q, want \"/initd --pause\" from Dockerfile.pause", got)
	}
	container := pod + "-trap"
	logs := func() string {
		b, _ := q.Command(ctx, "logs", container).CombinedOutput()
		return string(b)
	}
	testenv.WaitFor(t, logs, demo.LineStart, 30*time.Second)
	time.Sleep(500 * time.Millisecond) // trap.sh installs its traps after the first line
	start := time.Now()
	if _, err := q.Output(ctx, "pod", "stop", "-t", "10", pod); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	state, err := q.Output(ctx, "pod", "inspect", "-f", "{{.State}}", pod)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := q.Output(ctx, "inspect", "-f", "{{.State.ExitCode}}", infra, container)
	if err != nil {
		t.Fatal(err)
	}
	o := demo.Outcome{Variant: "pod with initd --pause as infra", Output: logs(), Stop: elapsed}
	o.PID = demo.ParsePID(o.Output)
	var infraExit int
	if n, err := fmt.Sscan(codes, &infraExit, &o.Exit); n != 2 {
		t.Fatalf("exit codes %q: %v", codes, err)
	}
	logOutcome(t, o)
	t.Logf("pod %s, infra exit %d", strings.TrimSpace(state), infraExit)
	if s := strings.TrimSpace(state); s != "Exited" {
		t.Errorf("pod state after pod stop = %q, want Exited", s)
	}
	if infraExit != 0 {
		t.Errorf("infra container (initd --pause) exited %d, want 0: its answer to SIGTERM", infraExit)
	}
	testenv.CheckGraceful(t, o, beforeKill)
}

// TestPodmanKubeIgnoresGraceAndPreStop checks the demo's note (KubeNote)
// against the installed podman: a manifest's terminationGracePeriodSeconds
// does not become the container's stop timeout, and a preStop hook does
// not run. If a newer podman does either, this fails: then the note, the
// README and docs/demo.md are wrong and must change.
func TestPodmanKubeIgnoresGraceAndPreStop(t *testing.T) {
	t.Parallel()
	p, _ := podman(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	marker := t.TempDir()
	const pod = "probe-kubelet"
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: ` + pod + `
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 3
  volumes:
    - name: marker
      hostPath:
        path: ` + marker + `
        type: Directory
  containers:
    - name: trap
      image: ` + demo.Images["exec"] + `
      imagePullPolicy: IfNotPresent
      volumeMounts:
        - name: marker
          mountPath: /marker
      lifecycle:
        preStop:
          exec:
            command: ["/bin/sh", "-c", "echo ran > /marker/prestop"]
`
	file := filepath.Join(t.TempDir(), "pod.yml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Output(ctx, "kube", "play", "--network", "none", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Command(context.Background(), "pod", "rm", "-f", "-t", "0", pod).Run() })
	container := pod + "-trap"
	timeout, err := p.Output(ctx, "inspect", "-f", "{{.Config.StopTimeout}}", container)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("podman %s: terminationGracePeriodSeconds 3 gave StopTimeout %s", p.Version, strings.TrimSpace(timeout))
	if strings.TrimSpace(timeout) == "3" {
		t.Errorf("podman %s takes terminationGracePeriodSeconds as the stop timeout: the demo's note says it does not; update demo.KubeNote and the docs", p.Version)
	}
	// The container must have started before the stop, or there would be
	// nothing for a hook to run in.
	testenv.WaitFor(t, func() string {
		b, _ := p.Command(ctx, "logs", container).CombinedOutput()
		return string(b)
	}, demo.LineStart, 30*time.Second)
	// The hostPath is live: what the container writes there, the test
	// sees. Otherwise a hook that ran could not leave its marker.
	if _, err := p.Output(ctx, "exec", container, "/bin/sh", "-c", "echo ok > /marker/mounted"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(marker, "mounted")); err != nil {
		t.Fatalf("the hostPath volume does not reach the host: %v", err)
	}
	if _, err := p.Output(ctx, "pod", "stop", pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(marker, "prestop")); err == nil {
		t.Errorf("podman %s ran the preStop hook: the demo's note says it does not; update demo.KubeNote and the docs", p.Version)
	} else {
		t.Logf("podman %s: the preStop hook did not run (%v)", p.Version, err)
	}
}
