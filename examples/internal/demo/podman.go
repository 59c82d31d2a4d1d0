package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Podman is a private rootful Podman: its own storage root, run root,
// temporary directory, containers.conf, network configuration and
// volumes, all under Dir. Every command runs in a new network namespace
// that has nothing but a loopback that is down, so nothing can reach a
// registry or create a bridge; containers get --network none on top.
// Podman has no daemon: what keeps a container running is its conmon,
// found by Dir in its command line when the end comes.
type Podman struct {
	Dir     string // everything this Podman owns lives here
	Conf    string // the containers.conf it runs with (CONTAINERS_CONF)
	Version string // podman's version, e.g. 4.3.1

	owner bool // Stop removes Dir: false for a WithInfraImage copy
}

// PodmanUsable says why a private Podman cannot run here, or nil.
func PodmanUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("a private rootful Podman needs root")
	}
	for _, tool := range []string{"podman", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH (Debian: apt-get install podman util-linux)", tool)
		}
	}
	// "podman kube play" builds its default infra image from catatonit,
	// which Debian's podman only recommends.
	if _, err := exec.LookPath("catatonit"); err != nil {
		if _, err := os.Stat("/usr/libexec/podman/catatonit"); err != nil {
			return errors.New("catatonit not found: podman builds its pod infra image from it (Debian: apt-get install catatonit)")
		}
	}
	return nil
}

// NewPodman sets up a private Podman in dir (which must exist and be
// empty) and checks that it answers. On error nothing is left behind but
// dir's contents, which Stop removes.
func NewPodman(ctx context.Context, dir string) (*Podman, error) {
	if err := PodmanUsable(); err != nil {
		return nil, err
	}
	p := &Podman{Dir: dir, Conf: filepath.Join(dir, "containers.conf"), owner: true}
	for _, sub := range []string{"root", "run", "tmp", "net", "volumes", "copy"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(p.Conf, []byte(p.conf("")), 0o644); err != nil {
		return nil, err
	}
	v, err := p.Output(ctx, "version", "--format", "{{.Client.Version}}")
	if err != nil {
		return nil, err
	}
	p.Version = strings.TrimSpace(v)
	return p, nil
}

// conf is the private containers.conf: files instead of the journal for
// events and logs, every directory under Dir, and, when given, the pods'
// infra image.
//
// Rootful Podman raises RLIMIT_NOFILE and RLIMIT_NPROC of every container
// to 1048576 and more by default; without CAP_SYS_RESOURCE (a root inside
// a container or sandbox) runc cannot, and fails with "error setting
// rlimit type 7". Only then does the file ask for limits podman can set:
// this process's hard RLIMIT_NOFILE, and for RLIMIT_NPROC its hard limit
// but no more than the kernel's pid_max, which podman lowers its own (and
// so conmon's and runc's) limit to.
func (p *Podman) conf(infraImage string) string {
	var b strings.Builder
	b.WriteString("[containers]\nlog_driver = \"k8s-file\"\n")
	if !hasCapSysResource() {
		var nofile, nproc syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile)
		syscall.Getrlimit(rlimitNproc, &nproc)
		if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
			if max, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && max < nproc.Max {
				nproc.Max = max
			}
		}
		fmt.Fprintf(&b, "default_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n", nofile.Max, nofile.Max, nproc.Max, nproc.Max)
	}
	b.WriteString("\n[engine]\nevents_logger = \"file\"\n")
	fmt.Fprintf(&b, "volume_path = %q\n", filepath.Join(p.Dir, "volumes"))
	fmt.Fprintf(&b, "image_copy_tmp_dir = %q\n", filepath.Join(p.Dir, "copy"))
	if infraImage != "" {
		fmt.Fprintf(&b, "infra_image = %q\n", infraImage)
	}
	fmt.Fprintf(&b, "\n[network]\nnetwork_config_dir = %q\n", filepath.Join(p.Dir, "net"))
	return b.String()
}

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name.
const rlimitNproc = 6

// hasCapSysResource reports whether this process may raise its resource
// limits above their hard values.
func hasCapSysResource() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return err == nil && caps&(1<<24) != 0 // CAP_SYS_RESOURCE
		}
	}
	return false
}

// WithInfraImage returns a Podman on the same storage whose pods get image
// as their infra container ([engine] infra_image). Stop the original, not
// the copy.
func (p *Podman) WithInfraImage(image string) (*Podman, error) {
	q := *p
	q.owner = false
	q.Conf = filepath.Join(p.Dir, "containers-infra.conf")
	if err := os.WriteFile(q.Conf, []byte(p.conf(image)), 0o644); err != nil {
		return nil, err
	}
	return &q, nil
}

// Command returns a podman command on this Podman's private state, in a
// network namespace of its own.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	full := []string{"--net", "--", "podman",
		"--root", filepath.Join(p.Dir, "root"),
		"--runroot", filepath.Join(p.Dir, "run"),
		"--tmpdir", filepath.Join(p.Dir, "tmp"),
	}
	cmd := exec.CommandContext(ctx, "unshare", append(full, args...)...)
	// The last value of a variable wins: the caller's own
	// CONTAINERS_CONF never applies.
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.Conf)
	return cmd
}

// Output runs a podman command and returns its stdout; an error carries
// stderr.
func (p *Podman) Output(ctx context.Context, args ...string) (string, error) {
	return output(p.Command(ctx, args...), "podman", args)
}

// EnsureBase makes sure this Podman has debian:stable, as Daemon.EnsureBase
// does for Docker, from the same cache.
func (p *Podman) EnsureBase(ctx context.Context, w io.Writer, kind, suite, cache string) error {
	return EnsureBase(ctx, p, w, kind, suite, cache)
}

// BuildImages builds the demo's images (Images) with podman build, never
// pulling.
func (p *Podman) BuildImages(ctx context.Context, repo, initd string) error {
	return BuildImages(ctx, p, repo, initd, "--pull=never")
}

// Stop removes every pod and container of this Podman, ends any process
// still serving one (conmon, found by Dir in its command line, so only
// this Podman's), unmounts what is left under Dir and removes Dir. It is
// safe to call more than once; on a WithInfraImage copy it does nothing.
func (p *Podman) Stop() error {
	if !p.owner {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := os.Stat(p.Dir); err != nil {
		return nil
	}
	// Only this Podman's pods and containers: its storage is private.
	p.Command(ctx, "pod", "rm", "-f", "-t", "0", "--all").Run()
	p.Command(ctx, "rm", "-f", "-t", "0", "--all").Run()
	return removeLeftovers(p.Dir)
}

// Pod is one of the repository's pod manifests, examples/pod-*.yml.
type Pod struct {
	Label string // the table's row
	File  string // relative to examples/
	Name  string // metadata.name
}

// Container is the name "podman kube play" gives the pod's one
// container, "trap": <pod>-<container>.
func (p Pod) Container() string { return p.Name + "-trap" }

// Pods are the three manifests, in the demo's order.
var Pods = []Pod{
	{"pod-exec.yml (exec form)", "pod-exec.yml", "trap-exec"},
	{"pod-shell.yml (shell form)", "pod-shell.yml", "trap-shell"},
	{"pod-initd.yml (shell form + initd)", "pod-initd.yml", "trap-initd"},
}

// RunPod starts the manifest at file with "podman kube play --network
// none", waits until trap.sh has started in container, stops the pod with
// "podman pod stop -t timeout" (SIGTERM to every container, SIGKILL after
// timeout: what "kubectl delete pod" does with the grace period) and
// reports what the container showed. The pod is removed afterwards.
func (p *Podman) RunPod(ctx context.Context, label, file, pod, container string, timeout time.Duration) Outcome {
	o := Outcome{Variant: label}
	if _, err := p.Output(ctx, "kube", "play", "--network", "none", file); err != nil {
		o.Err = err
		return o
	}
	defer p.Command(context.Background(), "pod", "rm", "-f", "-t", "0", pod).Run()
	return stopStarted(ctx, p, o, container, "pod", "stop", "-t", strconv.Itoa(int(timeout/time.Second)), pod)
}

// KubeNote is the line the demo prints under the Podman table: what a
// kubelet does with these manifests that Podman does not. The Podman
// tests check both claims against the installed podman.
func KubeNote(version string) string {
	return "Unlike a kubelet, podman " + version + " ignores terminationGracePeriodSeconds (pod stop -t sets the grace period) and never runs preStop hooks."
}
