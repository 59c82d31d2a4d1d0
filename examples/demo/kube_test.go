package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// TestKubeDemo runs the demo command as "make demo" does on a machine
// with the Kubernetes binaries cached (in namespace mode, without peers,
// to be quick) and checks the second table: the three pod manifests on a
// private kubelet. The binaries are built first if missing, as "make
// kube" builds them: the demo itself never starts that build.
func TestKubeDemo(t *testing.T) {
	t.Parallel()
	if err := demo.NamespaceUsable(); err != nil {
		testenv.SkipOrFail(t, "namespace mode cannot run: %v", err)
	}
	if err := demo.KubeUsable(); err != nil {
		testenv.SkipOrFail(t, "no Kubernetes node can run: %v", err)
	}
	if err := demo.PodmanUsable(); err != nil {
		testenv.SkipOrFail(t, "no Podman to build the pods' images with: %v", err)
	}
	repo, err := demo.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.KubeBinaries(repo, true, testenv.Writer{T: t}); err != nil {
		testenv.SkipOrFail(t, "no Kubernetes binaries: %v", err)
	}
	initd := testenv.Initd(t)
	// Another test binary's node may hold the machine's one node lock for
	// a few minutes first.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	got, out := runDemo(ctx, t, "-mode", "namespace", "-peers=false", "-podman=false", "-initd", initd)
	exec, shell, withInitd := demo.Pods[0].Label, demo.Pods[1].Label, demo.Pods[2].Label
	// The table's times are those of "kubectl delete pod", the kubelet's
	// teardown of the pod included; examples/kubetest times the
	// containers themselves. Here, "under the grace period" is enough.
	const grace = 10 * time.Second
	testenv.CheckExecForm(t, got[exec], grace)
	testenv.CheckKilled(t, got[shell], grace, time.Second/2)
	testenv.CheckGraceful(t, got[withInitd], grace)
	first, second := strings.Index(out, "Linux PID namespaces"), strings.Index(out, "kubectl delete pod")
	if first < 0 || second < first {
		t.Fatalf("want the namespace table first, then the Kubernetes table; got:\n%s", out)
	}
	for _, want := range []string{"| " + exec + " | 1 |", "| " + withInitd + " |", "kubelet", "preStop"} {
		if !strings.Contains(out[second:], want) {
			t.Errorf("the Kubernetes table lacks %q", want)
		}
	}
	if strings.Contains(out, "podman kube play") {
		t.Errorf("Podman's table was printed although the kubelet's was")
	}
}
