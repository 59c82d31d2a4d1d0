package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// BuildKubeImages makes the archives a node imports, into dir: the
// demo's images built by a private Podman from the repository's
// Dockerfiles (on the same debian:stable as the other engines, made as
// EnsureBase says) and saved under the names the manifests use, and the
// initd image of scripts/image as the sandbox. Podman is only the
// builder; it is removed before this returns.
func BuildKubeImages(ctx context.Context, w io.Writer, repo, initd, dir, base, suite, cache string) (KubeImages, error) {
	var imgs KubeImages
	pdir := filepath.Join(dir, "podman")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return imgs, err
	}
	var p *Podman
	err := Step(w, "setting up a private Podman to build the images", func() (err error) {
		p, err = NewPodman(ctx, pdir)
		return err
	})
	if err != nil {
		os.RemoveAll(pdir)
		return imgs, err
	}
	defer p.Stop()
	if err := p.EnsureBase(ctx, w, base, suite, cache); err != nil {
		return imgs, err
	}
	err = Step(w, "building the images with podman build and saving them", func() error {
		if err := p.BuildImages(ctx, repo, initd); err != nil {
			return err
		}
		for _, v := range []string{"exec", "shell", "initd"} {
			// Podman files a bare name under localhost/; the manifests'
			// "initd-demo/exec" is docker.io/initd-demo/exec:latest to
			// the kubelet.
			name := "docker.io/" + Images[v] + ":latest"
			if _, err := p.Output(ctx, "tag", "localhost/"+Images[v]+":latest", name); err != nil {
				return err
			}
			out := filepath.Join(dir, v+".tar")
			if _, err := p.Output(ctx, "save", "--format", "docker-archive", "-o", out, name); err != nil {
				return err
			}
			imgs.Apps = append(imgs.Apps, out)
		}
		imgs.Sandbox, err = InitdImage(ctx, repo, initd, dir)
		return err
	})
	return imgs, err
}

// KubePod is one of the repository's pod manifests run on a node.
type KubePod struct {
	Label     string // the table's row
	Manifest  []byte // the pod, YAML or JSON
	Container string // the container whose log and status the row shows

	// Inspect, when set, runs once trap.sh has started and before the
	// delete: a test's look inside the running pod. An error ends the
	// row with it.
	Inspect func(ctx context.Context, pod string) error
}

// KubePods are the repository's three manifests, read from repo, as the
// demo and the tests run them: as they are.
func KubePods(repo string) ([]KubePod, error) {
	var pods []KubePod
	for _, p := range Pods {
		b, err := os.ReadFile(filepath.Join(repo, "examples", p.File))
		if err != nil {
			return nil, err
		}
		pods = append(pods, KubePod{Label: p.Label, Manifest: b, Container: "trap"})
	}
	return pods, nil
}

// DecodePod decodes a manifest strictly: a misspelt field is an error
// rather than silently dropped, as the API server would drop it.
func DecodePod(manifest []byte) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(manifest, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

// Apply does what "kubectl apply -f" does with the manifest and then,
// since the node has no scheduler, binds the pod to the node (a Binding,
// what a scheduler would post). It returns the pod's name.
func (k *Kube) Apply(ctx context.Context, manifest []byte) (string, error) {
	pod, err := DecodePod(manifest)
	if err != nil {
		return "", err
	}
	cmd := k.Kubectl(ctx, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(string(manifest))
	if _, err := output(cmd, "kubectl", []string{"apply", "-f", "-"}); err != nil {
		return "", err
	}
	binding, _ := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Binding",
		"metadata":   map[string]string{"name": pod.Name},
		"target":     map[string]string{"apiVersion": "v1", "kind": "Node", "name": k.Node},
	})
	path := "/api/v1/namespaces/default/pods/" + pod.Name + "/binding"
	cmd = k.Kubectl(ctx, "create", "--raw", path, "-f", "-")
	cmd.Stdin = strings.NewReader(string(binding))
	if _, err := output(cmd, "kubectl", []string{"create", "--raw", path}); err != nil {
		return "", err
	}
	return pod.Name, nil
}

// Follow starts "kubectl logs -f" on a container of a pod, which waits
// for the container to run and streams its log until it stops. output
// returns the log so far; wait waits for it to end, for at most limit,
// and then ends it. What kubectl says itself (that the container is
// still being created) goes to stderr, not into the log.
func (k *Kube) Follow(ctx context.Context, pod, container string, stderr io.Writer) (output func() string, wait func(limit time.Duration), err error) {
	var buf lockedBuffer
	cmd := k.Kubectl(ctx, "logs", "-f", "--pod-running-timeout=2m", pod, "-c", container)
	cmd.Stdout, cmd.Stderr = &buf, stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var once sync.Once
	wait = func(limit time.Duration) {
		once.Do(func() {
			select {
			case <-done:
			case <-time.After(limit):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	return buf.String, wait, nil
}

// Watch follows a pod with "kubectl get -w" and keeps the last state it
// saw; last waits until the pod is gone (for at most limit) and returns
// that state, the one the kubelet reported as it finished.
func (k *Kube) Watch(ctx context.Context, pod string) (last func(limit time.Duration) *corev1.Pod, err error) {
	cmd := k.Kubectl(ctx, "get", "pod", pod, "-w", "--output-watch-events", "-o", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		latest  *corev1.Pod
		deleted = make(chan struct{})
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		dec := json.NewDecoder(stdout)
		for {
			var ev struct {
				Type   string     `json:"type"`
				Object corev1.Pod `json:"object"`
			}
			if err := dec.Decode(&ev); err != nil {
				return
			}
			mu.Lock()
			latest = &ev.Object
			mu.Unlock()
			if ev.Type == "DELETED" {
				close(deleted)
				return
			}
		}
	}()
	var once sync.Once
	return func(limit time.Duration) *corev1.Pod {
		once.Do(func() {
			select {
			case <-deleted:
			case <-time.After(limit):
			}
			cmd.Process.Kill()
			<-done
			cmd.Wait()
		})
		mu.Lock()
		defer mu.Unlock()
		return latest
	}, nil
}

// Terminated returns how a container of pod ended, or nil if the pod's
// status does not say.
func Terminated(pod *corev1.Pod, container string) *corev1.ContainerStateTerminated {
	if pod == nil {
		return nil
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name != container {
			continue
		}
		if s.State.Terminated != nil {
			return s.State.Terminated
		}
		return s.LastTerminationState.Terminated
	}
	return nil
}

// RunPod is the talk's sequence on a real kubelet: "kubectl apply" (and
// the binding), "kubectl logs -f" until trap.sh has started, then "kubectl
// delete pod", timed, which returns when the kubelet has stopped the
// pod: after its preStop hooks, SIGTERM (or the pod's stop signal) and,
// when terminationGracePeriodSeconds runs out, SIGKILL. The row has the
// log of the container, its exit code from the pod's last status, and
// the time the delete took. That time includes the kubelet's own
// teardown of the pod, a second or more on a busy machine; exited is
// the container's part alone: from the delete until the container's
// exit as its status records it, to the second.
func (k *Kube) RunPod(ctx context.Context, p KubePod) (o Outcome, exited time.Duration) {
	o.Variant = p.Label
	name, err := k.Apply(ctx, p.Manifest)
	if err != nil {
		o.Err = err
		return o, 0
	}
	defer k.Kubectl(context.Background(), "delete", "pod", name, "--grace-period=1", "--ignore-not-found", "--wait=false").Run()
	var kubectl lockedBuffer
	logs, waitLogs, err := k.Follow(ctx, name, p.Container, &kubectl)
	if err != nil {
		o.Err = err
		return o, 0
	}
	defer waitLogs(0)
	last, err := k.Watch(ctx, name)
	if err != nil {
		o.Err = err
		return o, 0
	}
	defer last(0)
	if err := waitStarted(ctx, logs, func() bool { return false }); err != nil {
		o.Output = logs()
		o.Err = fmt.Errorf("%v; kubectl logs said: %s; pod %s:\n%s", err, strings.TrimSpace(kubectl.String()), name, k.describe(name))
		return o, 0
	}
	o.PID = ParsePID(logs())
	if p.Inspect != nil {
		if err := p.Inspect(ctx, name); err != nil {
			o.Output = logs()
			o.Err = err
			return o, 0
		}
	}

	start := time.Now()
	if _, err := k.Output(ctx, "delete", "pod", name, "--timeout=2m"); err != nil {
		o.Err = err
		return o, 0
	}
	o.Stop = time.Since(start)
	waitLogs(10 * time.Second)
	o.Output = logs()
	t := Terminated(last(10*time.Second), p.Container)
	if t == nil {
		o.Err = fmt.Errorf("the pod's last status has no exit code for container %s", p.Container)
		return o, 0
	}
	o.Exit = int(t.ExitCode)
	return o, t.FinishedAt.Sub(start)
}

// describe is "kubectl describe pod" and the kubelet's last lines, for a
// failure's message.
func (k *Kube) describe(pod string) string {
	out, _ := k.Kubectl(context.Background(), "describe", "pod", pod).CombinedOutput()
	return string(out) + "\nkubelet log:\n" + k.Log("kubelet", 15)
}

// KubeDemo runs the demo's Kubernetes half: builds the images, starts a
// node from bins in a temporary directory, runs the repository's three
// pods side by side on it, stops it and returns the rows and a heading
// that names the node.
func KubeDemo(ctx context.Context, w io.Writer, repo, initd, bins, base, suite, cache string) ([]Outcome, string, error) {
	dir, err := os.MkdirTemp("", "initd-demo-kube-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	imgs, err := BuildKubeImages(ctx, w, repo, initd, filepath.Join(dir, "images"), base, suite, cache)
	if err != nil {
		return nil, "", err
	}
	node := filepath.Join(dir, "node")
	if err := os.Mkdir(node, 0o700); err != nil {
		return nil, "", err
	}
	k, err := StartKube(ctx, w, node, bins, imgs)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if err := k.Stop(); err != nil {
			fmt.Fprintf(w, "cleaning up the private Kubernetes node: %v\n", err)
		}
	}()
	pods, err := KubePods(repo)
	if err != nil {
		return nil, "", err
	}
	rows := make([]Outcome, len(pods))
	err = Step(w, fmt.Sprintf("applying %d pods side by side and deleting them (up to their grace period)", len(pods)), func() error {
		var wg sync.WaitGroup
		for i, p := range pods {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows[i], _ = k.RunPod(ctx, p)
			}()
		}
		wg.Wait()
		return ctx.Err()
	})
	return rows, k.Heading(), err
}

// Heading names the node for a table: versions and what a stop is.
func (k *Kube) Heading() string {
	return fmt.Sprintf("Kubernetes %s (kubelet, kube-apiserver, kine; containerd %s, runc; private node, sandbox image %s),\n"+
		"kubectl apply examples/pod-*.yml, stop = kubectl delete pod: preStop hook, SIGTERM, SIGKILL when terminationGracePeriodSeconds (10 s) runs out",
		k.Version, k.Runtime, k.Sandbox)
}

// KubeNotes are the lines the demo prints under the kubelet's table.
var KubeNotes = []string{
	"stop is the time \"kubectl delete pod\" took: the containers' stop, then the kubelet's teardown of the pod (a second or two).",
	"pod-initd.yml's preStop hook (sleep 2) runs before the kubelet's SIGTERM and counts in the grace period: 2 s of its stop.",
	"exit is the container's exit code from the pod's last status. Every pod's sandbox is initd --pause (scripts/image).",
}
