// Package examples checks the Kubernetes manifests against the real API
// types; the demo and the Docker test live in the sub-packages.
package examples

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/initd/initd/examples/internal/demo"
)

// decodePod decodes a manifest strictly: an unknown or misspelt field (a
// "terminationGracePeriod" instead of "terminationGracePeriodSeconds") is
// an error instead of being silently dropped, as the API server would
// drop it.
func decodePod(data []byte) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

func TestManifests(t *testing.T) {
	for _, tc := range []struct {
		file, name, image string
		preStop           bool
	}{
		{"pod-exec.yml", "trap-exec", "initd-demo/exec", false},
		{"pod-shell.yml", "trap-shell", "initd-demo/shell", false},
		{"pod-initd.yml", "trap-initd", "initd-demo/initd", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			pod, err := decodePod(data)
			if err != nil {
				t.Fatalf("%s does not decode strictly into a core/v1 Pod: %v", tc.file, err)
			}
			if pod.APIVersion != "v1" || pod.Kind != "Pod" {
				t.Errorf("apiVersion/kind = %s/%s, want v1/Pod", pod.APIVersion, pod.Kind)
			}
			if pod.Name != tc.name {
				t.Errorf("metadata.name = %q, want %q", pod.Name, tc.name)
			}
			if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g != 10 {
				t.Errorf("terminationGracePeriodSeconds = %v, want 10 (docker stop's default, as in the demo)", g)
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy = %q, want Never so the stopped container's exit code stays visible", pod.Spec.RestartPolicy)
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
			}
			c := pod.Spec.Containers[0]
			if c.Image != tc.image {
				t.Errorf("image = %q, want %q (the tag the README's docker build uses)", c.Image, tc.image)
			}
			// A "latest" image would default to PullAlways and fail for an
			// image built locally and loaded into the cluster.
			if c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("imagePullPolicy = %q, want IfNotPresent", c.ImagePullPolicy)
			}
			// The entrypoint is what the demo compares: overriding it here
			// would make all three pods the same.
			if len(c.Command) != 0 || len(c.Args) != 0 {
				t.Errorf("command/args set (%q %q); the image's ENTRYPOINT must be used", c.Command, c.Args)
			}
			var hook *corev1.LifecycleHandler
			if c.Lifecycle != nil {
				hook = c.Lifecycle.PreStop
			}
			if !tc.preStop {
				if hook != nil {
					t.Errorf("unexpected preStop hook")
				}
				return
			}
			if hook == nil || hook.Exec == nil || len(hook.Exec.Command) == 0 {
				t.Fatalf("want a preStop exec hook, got %+v", hook)
			}
		})
	}
}

// TestManifestsStrict makes sure the decoding above would catch a typo.
func TestManifestsStrict(t *testing.T) {
	data, err := os.ReadFile("pod-exec.yml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "terminationGracePeriodSeconds:", "terminationGracePeriod:", 1)
	if _, err := decodePod([]byte(bad)); err == nil {
		t.Fatal("a misspelt field decoded without error; the manifest test would not catch typos")
	}
}

// TestManifestsDemo checks that the demo's Podman table plays these files
// under the names they give: the pod's name and "<pod>-trap", the name
// podman kube play gives the one container.
func TestManifestsDemo(t *testing.T) {
	if len(demo.Pods) != 3 {
		t.Fatalf("the demo plays %d pods, want the 3 manifests", len(demo.Pods))
	}
	for _, p := range demo.Pods {
		data, err := os.ReadFile(p.File)
		if err != nil {
			t.Fatal(err)
		}
		pod, err := decodePod(data)
		if err != nil {
			t.Fatal(err)
		}
		if pod.Name != p.Name {
			t.Errorf("%s: metadata.name %q, the demo expects %q", p.File, pod.Name, p.Name)
		}
		if len(pod.Spec.Containers) != 1 || p.Container() != pod.Name+"-"+pod.Spec.Containers[0].Name {
			t.Errorf("%s: the demo reads container %q, which podman kube play would not name so", p.File, p.Container())
		}
	}
}
