// Package kubetest runs the talk's pods on a real kubelet: a private
// single-node Kubernetes (kube-apiserver, kine, containerd's CRI, a
// kubelet; demo.Kube) that this package starts once and stops at the
// end, with images built offline and imported, and initd --pause as every
// pod's sandbox. It checks what the talk teaches with kubectl: the grace
// period, the preStop hook, the stop signal of the pod spec, and initd as
// the entry point and as the sandbox of a pod that shares one PID
// namespace.
//
// The node's binaries are built on first use (tools/kube/build, as "make
// kube"; about 15 minutes on two cores, then cached). Under
// INITD_STRICT_TESTS=1 a node that cannot be built or started fails the
// tests; otherwise they skip and say why.
package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// grace is the manifests' terminationGracePeriodSeconds.
const grace = 10 * time.Second

// beforeKill bounds a graceful stop, from the delete to the container's
// exit: it must end before the kubelet's SIGKILL at the grace period, with
// a margin. trap.sh's cleanup takes a second and pod-initd.yml's preStop
// hook two more; how short the stop is, is the demo table's figure, not a
// test's bound, and a broken init fails on the SIGKILL itself (137, no
// trap output). The checks time the container, not "kubectl delete",
// which also waits for the kubelet to tear the pod down.
const beforeKill = grace - 2*time.Second

var (
	once     sync.Once
	node     *demo.Kube
	tmp      string // the node's and the images' directory
	repo     string
	setupErr error
	unusable string // why no node can run here at all
)

func TestMain(m *testing.M) {
	code := m.Run()
	if node != nil {
		// Stop also checks the node's promise: the host as it was found.
		if err := node.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the private Kubernetes node: %v\n", err)
			code = 1
		}
	}
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// kube returns the node every test of this package shares, starting it on
// first use: it builds the binaries if they are not cached, builds and
// imports the images, and starts the node.
func kube(t *testing.T) *demo.Kube {
	t.Helper()
	if err := demo.KubeUsable(); err != nil {
		testenv.SkipOrFail(t, "no Kubernetes node can run: %v", err)
	}
	if err := demo.PodmanUsable(); err != nil {
		testenv.SkipOrFail(t, "no Podman to build the pods' images with: %v", err)
	}
	initd := testenv.Initd(t)
	once.Do(func() {
		w := testenv.Writer{T: t}
		if repo, setupErr = demo.FindRepo("."); setupErr != nil {
			return
		}
		bins, err := demo.KubeBinaries(repo, true, w)
		if err != nil {
			unusable = err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "initd-kube-")
		if err != nil {
			setupErr = err
			return
		}
		tmp = dir
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = dir
		}
		imgs, err := demo.BuildKubeImages(ctx, w, repo, initd, filepath.Join(dir, "images"), demo.BaseAuto, "stable", filepath.Join(cache, "initd-demo"))
		if err != nil {
			unusable = "building the images: " + err.Error()
			return
		}
		nodeDir := filepath.Join(dir, "node")
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			setupErr = err
			return
		}
		k, err := demo.StartKube(ctx, w, nodeDir, bins, imgs)
		os.RemoveAll(filepath.Join(dir, "images"))
		if err != nil {
			unusable = "starting the node: " + err.Error()
			return
		}
		node = k
		t.Logf("node %s: Kubernetes %s, containerd %s, sandbox image %s, in %s", k.Node, k.Version, k.Runtime, k.Sandbox, k.Dir)
	})
	if unusable != "" {
		testenv.SkipOrFail(t, "no Kubernetes node: %s", unusable)
	}
	if setupErr != nil {
		t.Fatalf("setting up the Kubernetes node: %v", setupErr)
	}
	return node
}

// manifest returns examples/<file> decoded, renamed to name, for a test
// that changes something in it; the talk's files themselves run as they
// are (TestKubeTalkPods).
func manifest(t *testing.T, file, name string) *corev1.Pod {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := demo.DecodePod(b)
	if err != nil {
		t.Fatal(err)
	}
	pod.Name = name
	return pod
}

func encode(t *testing.T, pod *corev1.Pod) []byte {
	t.Helper()
	b, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs pod on the node as the demo does, logs the row and returns
// it with Stop the time from the delete to the container's exit (to the
// second), which the checks compare with the grace period.
func run(t *testing.T, k *demo.Kube, p demo.KubePod) demo.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, exited := k.RunPod(ctx, p)
	if o.Err != nil {
		t.Fatalf("%s: %v\noutput:\n%s", o.Variant, o.Err, o.Output)
	}
	t.Logf("%s: PID %d, kubectl delete %.1f s, container exited after %.0f s, exit %d, %s\n%s",
		o.Variant, o.PID, o.Stop.Seconds(), exited.Seconds(), o.Exit, o.Verdict(), o.Output)
	o.Stop = exited
	return o
}

// TestKubeTalkPods runs examples/pod-exec.yml, pod-shell.yml and
// pod-initd.yml as they are: kubectl apply, kubectl logs -f, kubectl
// delete pod.
func TestKubeTalkPods(t *testing.T) {
	t.Parallel()
	k := kube(t)
	pods, err := demo.KubePods(repo)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pods {
		t.Run(demo.Pods[i].Name, func(t *testing.T) {
			t.Parallel()
			o := run(t, k, p)
			switch demo.Pods[i].Name {
			case "trap-exec":
				testenv.CheckExecForm(t, o, beforeKill)
			case "trap-shell":
				testenv.CheckKilled(t, o, grace, time.Second)
			case "trap-initd":
				testenv.CheckGraceful(t, o, beforeKill)
				// Its preStop hook sleeps 2 s before the SIGTERM.
				if o.Stop < 2*time.Second {
					t.Errorf("%s: the container exited %s after the delete, before its 2 s preStop hook could have finished: did the hook run?", o.Variant, o.Stop)
				}
			default:
				t.Fatalf("no expectation for pod %s", demo.Pods[i].Name)
			}
		})
	}
}

// hookLine is what the preStop hooks below print through PID 1's
// standard output, so that the container's log shows where the hook
// falls among trap.sh's lines.
const hookLine = "preStop: "

func hook(seconds int) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c",
		fmt.Sprintf("echo '%sstart' >/proc/1/fd/1; sleep %d; echo '%sdone' >/proc/1/fd/1", hookLine, seconds, hookLine)}}}
}

// TestKubePreStop: the kubelet runs the preStop hook before the stop
// signal, and the hook's time counts in terminationGracePeriodSeconds.
// And initd's --grace for leftovers must fit in what the hook leaves of
// the pod's grace period, or the kubelet's SIGKILL ends the container
// first (137).
func TestKubePreStop(t *testing.T) {
	t.Parallel()
	k := kube(t)

	t.Run("before-term", func(t *testing.T) {
		t.Parallel()
		pod := manifest(t, "pod-initd.yml", "prestop-order")
		pod.Spec.Containers[0].Lifecycle.PreStop = hook(2)
		o := run(t, k, demo.KubePod{Label: "initd, preStop 2 s", Manifest: encode(t, pod), Container: "trap"})
		testenv.CheckGraceful(t, o, beforeKill)
		order := []string{demo.LineStart, hookLine + "start", hookLine + "done", demo.LineTrapped + "TERM", demo.LineDone}
		at := -1
		for _, line := range order {
			i := strings.Index(o.Output, line)
			if i <= at {
				t.Fatalf("want the lines %q in this order (the hook before the SIGTERM); got:\n%s", order, o.Output)
			}
			at = i
		}
	})

	// The shell form ignores SIGTERM, so the delete lasts exactly as long
	// as the grace period: 10 s if the hook's 6 s count in it, 16 s if
	// they came on top.
	t.Run("counts-in-grace", func(t *testing.T) {
		t.Parallel()
		const hookTime = 6 * time.Second
		pod := manifest(t, "pod-shell.yml", "prestop-grace")
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: hook(int(hookTime / time.Second))}
		o := run(t, k, demo.KubePod{Label: "shell form, preStop 6 s", Manifest: encode(t, pod), Container: "trap"})
		if !strings.Contains(o.Output, hookLine+"done") {
			t.Errorf("the preStop hook did not finish; output:\n%s", o.Output)
		}
		if o.Stop < grace-time.Second || o.Stop >= grace+hookTime/2 || o.Exit != 137 {
			t.Errorf("want the container SIGKILLed (137) when the %s grace period ran out, the %s hook included (not %s after the hook); got %s, exit %d",
				grace, hookTime, grace, o.Stop, o.Exit)
		}
	})

	// A leftover that ignores SIGTERM, beside trap.sh under initd. With
	// --grace 3s, hook (2 s) + cleanup (1 s) + grace (3 s) fit in 10 s:
	// initd kills the leftover itself and reports trap.sh's status. With
	// --grace 30s they do not, and the kubelet kills the container.
	leftover := []string{"/bin/sh", "-c", "(trap '' TERM; exec sleep 600) & exec ./trap.sh"}
	for _, tc := range []struct {
		name, grace string
		fits        bool
	}{
		{"grace-fits", "3s", true},
		{"grace-too-long", "30s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := manifest(t, "pod-initd.yml", "prestop-"+tc.name)
			pod.Spec.Containers[0].Command = append([]string{"/initd", "--grace", tc.grace, "--"}, leftover...)
			o := run(t, k, demo.KubePod{Label: "initd --grace " + tc.grace + ", preStop 2 s, a leftover", Manifest: encode(t, pod), Container: "trap"})
			if !o.Complete() {
				t.Errorf("trap.sh's cleanup did not complete; output:\n%s", o.Output)
			}
			// The status tells who ended the container: initd (trap.sh's
			// 0) or the kubelet's SIGKILL (137).
			switch {
			case tc.fits && o.Exit != testenv.ShellFormExit:
				t.Errorf("--grace %s fits in the grace period: want initd to end the leftover and exit %d before the kubelet's SIGKILL at %s; got exit %d after %s",
					tc.grace, testenv.ShellFormExit, grace, o.Exit, o.Stop)
			case !tc.fits && (o.Exit != 137 || o.Stop < grace-time.Second):
				t.Errorf("--grace %s does not fit: want the kubelet's SIGKILL (137) when the %s grace period runs out; got exit %d after %s",
					tc.grace, grace, o.Exit, o.Stop)
			}
		})
	}
}

// TestKubeSandbox: initd --pause is every pod's sandbox (the CRI's pause
// image, made by scripts/image). In a pod with shareProcessNamespace it
// is PID 1 of the whole pod: the orphans an app container leaves are
// re-parented to it, and it reaps them, so no zombie piles up; and
// kubectl delete pod still gives the initd container its graceful stop,
// since the kubelet stops the containers before the sandbox.
func TestKubeSandbox(t *testing.T) {
	t.Parallel()
	k := kube(t)
	pod := manifest(t, "pod-initd.yml", "shared-pid")
	pod.Spec.ShareProcessNamespace = new(bool)
	*pod.Spec.ShareProcessNamespace = true
	pod.Spec.Containers[0].Lifecycle = nil
	// Every half second a child that forks a 3 s sleep and exits at
	// once: the sleep is orphaned, and when it ends someone must reap it.
	orphans := corev1.Container{
		Name:            "orphans",
		Image:           demo.Images["shell"],
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"/bin/sh", "-c", "while :; do (sleep 3 &); sleep 0.5; done"},
	}
	pod.Spec.Containers = append(pod.Spec.Containers, orphans)

	inspect := func(ctx context.Context, name string) error {
		exec := func(script string) (string, error) {
			return k.Output(ctx, "exec", name, "-c", "orphans", "--", "/bin/sh", "-c", script)
		}
		cmdline, err := exec(`tr '\0' ' ' </proc/1/cmdline`)
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(cmdline); got != "/initd --pause" {
			return fmt.Errorf("PID 1 of the pod runs %q, want \"/initd --pause\", the sandbox image", got)
		}
		// Long enough for several orphans to have ended.
		time.Sleep(5 * time.Second)
		// pid, state and parent of every process in the pod.
		ps, err := exec(`for f in /proc/[0-9]*/stat; do read -r l <"$f" && echo "$l"; done 2>/dev/null`)
		if err != nil {
			return err
		}
		adopted, zombies := 0, []string{}
		for _, l := range strings.Split(strings.TrimSpace(ps), "\n") {
			i := strings.LastIndexByte(l, ')')
			f := strings.Fields(l[i+1:])
			if i < 0 || len(f) < 2 {
				continue
			}
			if f[0] == "Z" {
				zombies = append(zombies, l)
			}
			if f[1] == "1" && strings.Contains(l, "(sleep)") {
				adopted++
			}
		}
		if adopted == 0 {
			return fmt.Errorf("no orphaned sleep has PID 1 (the sandbox) as its parent, so the test shows nothing; the pod's processes:\n%s", ps)
		}
		if len(zombies) > 0 {
			return fmt.Errorf("zombies in the pod, not reaped by the sandbox:\n%s", strings.Join(zombies, "\n"))
		}
		t.Logf("%d orphans adopted by the sandbox, no zombie; the pod's processes:\n%s", adopted, ps)
		return nil
	}
	o := run(t, k, demo.KubePod{Label: "shareProcessNamespace, initd sandbox", Manifest: encode(t, pod), Container: "trap", Inspect: inspect})
	testenv.CheckGraceful(t, o, beforeKill)
}

// TestKubeStopSignal: lifecycle.stopSignal (KEP-4960, the
// ContainerStopSignals feature gate, which the node turns on, and a CRI
// that implements it: containerd 2.1 and later) makes the kubelet stop the
// container with SIGQUIT, and initd --stop-signals QUIT takes QUIT as a
// stop: trap.sh gets it, cleans up, and its status is reported.
func TestKubeStopSignal(t *testing.T) {
	t.Parallel()
	k := kube(t)
	pod := manifest(t, "pod-initd.yml", "stop-quit")
	// The API accepts a stop signal only for a pod that says its OS.
	pod.Spec.OS = &corev1.PodOS{Name: corev1.Linux}
	c := &pod.Spec.Containers[0]
	c.Lifecycle = &corev1.Lifecycle{StopSignal: new(corev1.Signal)}
	*c.Lifecycle.StopSignal = corev1.SIGQUIT
	c.Command = []string{"/initd", "--stop-signals", "QUIT", "--", "/bin/sh", "-c", "./trap.sh"}

	inspect := func(ctx context.Context, name string) error {
		// A kube-apiserver without the feature gate drops the field
		// without a word, and a CRI without support reports no signal.
		got, err := k.Output(ctx, "get", "pod", name, "-o",
			`jsonpath={.spec.containers[0].lifecycle.stopSignal}/{.status.containerStatuses[0].stopSignal}`)
		if err != nil {
			return err
		}
		if got != "SIGQUIT/SIGQUIT" {
			return fmt.Errorf("spec/status stop signal = %q, want SIGQUIT/SIGQUIT: the apiserver (ContainerStopSignals) or the CRI does not support lifecycle.stopSignal", got)
		}
		return nil
	}
	o := run(t, k, demo.KubePod{Label: "stopSignal SIGQUIT, initd --stop-signals QUIT", Manifest: encode(t, pod), Container: "trap", Inspect: inspect})
	if !o.Complete() || o.Trapped() != "QUIT" || o.Stop >= beforeKill || o.Exit != testenv.ShellFormExit {
		t.Errorf("want trap.sh to get QUIT and finish its cleanup in under %s, exit %d (trap.sh's own status); got %s, exit %d, output:\n%s",
			beforeKill, testenv.ShellFormExit, o.Stop, o.Exit, o.Output)
	}
}
