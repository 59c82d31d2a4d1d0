package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Kube is a private single-node Kubernetes: kine (the datastore),
// kube-apiserver, containerd with its CRI and a kubelet, built by
// tools/kube/build and run from its cache. Everything lives under Dir:
// certificates, configurations, sockets, state and logs. The apiserver,
// kine and containerd listen on loopback only, the kubelet on the
// address of a private bridge that the pods' network (Debian's CNI
// plugins, no masquerading, no gateway) shares and that has no route
// anywhere. No image is ever pulled: images are imported, and
// containerd's registry configuration sends any pull to a closed port on
// loopback. There is no scheduler and no controller manager: pods are
// bound to the node by the caller (Apply does it), which is all bare
// pods need.
//
// The kubelet changes the host in ways no option prevents; Stop undoes
// them: the sysctls it sets get their old values back, and the
// directories and cgroups it creates outside Dir are removed when they
// were not there before; Stop fails if the host then differs from what
// StartKube found. Every daemon is stopped by its PID. One node
// runs on a machine at a time: StartKube waits for a lock that Stop
// releases, since two kubelets would share those directories and
// sysctls.
type Kube struct {
	Dir     string // everything this node owns lives here
	Bins    string // the directory of the built binaries
	Node    string // the node's name
	Version string // the kubelet's version, e.g. v1.37.2
	Runtime string // containerd's version
	Sandbox string // the CRI's sandbox (pause) image

	kubeconfig string
	socket     string
	bridge     string
	ip         netip.Prefix // the bridge's address: the node's InternalIP
	daemons    []*kubeDaemon
	host       hostState
	lock       *os.File
}

// KubeNode is the node's name.
const KubeNode = "initd-node"

// kubeBridge is the pods' bridge; one node runs at a time, so the name
// can be fixed.
const kubeBridge = "initd-kube0"

// KubeUsable says why a private Kubernetes node cannot run here, or nil.
// The binaries are checked apart (KubeBinaries): they can be built.
func KubeUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("a kubelet needs root")
	}
	for _, tool := range []string{"runc", "ip", "mount", "umount", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH (Debian: apt-get install runc iproute2 util-linux mount)", tool)
		}
	}
	if _, err := cniBinDir(); err != nil {
		return err
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		return errors.New("no /sys/fs/cgroup")
	}
	return nil
}

// cniBinDir finds the CNI plugins the pods' network needs.
func cniBinDir() (string, error) {
	for _, d := range []string{"/usr/lib/cni", "/opt/cni/bin"} {
		if fileExists(filepath.Join(d, "bridge")) && fileExists(filepath.Join(d, "host-local")) && fileExists(filepath.Join(d, "loopback")) {
			return d, nil
		}
	}
	return "", errors.New("no CNI plugins (bridge, host-local, loopback) in /usr/lib/cni or /opt/cni/bin (Debian: apt-get install containernetworking-plugins)")
}

// KubeBinaries returns the directory of the node's binaries, cached by
// release by tools/kube/build in the checkout at repo. When they are
// missing it builds them if build is true (about 15 minutes on two
// cores, with the build's progress on w), and otherwise says so.
func KubeBinaries(repo string, build bool, w io.Writer) (string, error) {
	script := filepath.Join(repo, "tools", "kube", "build")
	out, err := exec.Command(script, "-dir").Output()
	if err != nil {
		return "", fmt.Errorf("%s -dir: %v", script, err)
	}
	dir := strings.TrimSpace(string(out))
	if exec.Command(script, "-check").Run() == nil {
		return dir, nil
	}
	if !build {
		return "", &KubeNotBuilt{Dir: dir}
	}
	cmd := exec.Command(script)
	cmd.Stderr = w
	if out, err = cmd.Output(); err != nil {
		return "", fmt.Errorf("building the Kubernetes binaries (%s): %v", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// KubeNotBuilt is KubeBinaries' error when the binaries are not cached
// and it was not asked to build them.
type KubeNotBuilt struct{ Dir string }

func (e *KubeNotBuilt) Error() string {
	return "the Kubernetes binaries are not built (no " + e.Dir + "); \"make kube\" builds them, once, in about 15 minutes on two cores"
}

// KubeImages are the image archives a node imports: the sandbox (pause)
// image and the pods' images.
type KubeImages struct {
	Sandbox string   // an OCI archive from scripts/image: initd --pause
	Apps    []string // docker-save archives
}

// StartKube starts a node in dir (which must exist and be empty) from the
// binaries in bins, imports images and waits until the node is Ready.
// Progress goes to w. On error nothing is left running and the host is
// as it was.
func StartKube(ctx context.Context, w io.Writer, dir, bins string, images KubeImages) (*Kube, error) {
	if err := KubeUsable(); err != nil {
		return nil, err
	}
	sandbox, err := ImageName(images.Sandbox)
	if err != nil {
		return nil, err
	}
	k := &Kube{
		Dir:        dir,
		Bins:       bins,
		Node:       KubeNode,
		Sandbox:    sandbox,
		kubeconfig: filepath.Join(dir, "admin.kubeconfig"),
		socket:     filepath.Join(dir, "containerd", "containerd.sock"),
		bridge:     kubeBridge,
	}
	if k.lock, err = lockKube(ctx, w, filepath.Join(filepath.Dir(bins), "node.lock")); err != nil {
		return nil, err
	}
	k.host = saveHost()
	steps := []struct {
		what string
		f    func(context.Context) error
	}{
		{"making the bridge " + k.bridge + " and the certificates", k.setup},
		{"starting kine and kube-apiserver", k.startControlPlane},
		{"starting containerd and importing the images", func(ctx context.Context) error { return k.startContainerd(ctx, images) }},
		{"starting the kubelet and waiting for the node to be Ready", k.startKubelet},
	}
	for _, s := range steps {
		if err := Step(w, s.what, func() error { return s.f(ctx) }); err != nil {
			k.Stop()
			return nil, err
		}
	}
	return k, nil
}

// lockKube takes the machine's one node lock, a file beside the cached
// binaries, waiting for another node to stop first.
func lockKube(ctx context.Context, w io.Writer, file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %v", f.Name(), err)
		}
		if !said {
			fmt.Fprintf(w, "waiting for another private Kubernetes node on this machine to stop (%s)\n", f.Name())
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// setup makes the bridge, the node's address, and the certificates and
// kubeconfigs.
func (k *Kube) setup(ctx context.Context) error {
	prefix, err := freeSubnet()
	if err != nil {
		return err
	}
	k.ip = netip.PrefixFrom(prefix.Addr().Next(), prefix.Bits())
	// A bridge of this name left by a node that died is stale: one node
	// runs at a time, and this one holds the lock.
	if _, err := net.InterfaceByName(k.bridge); err == nil {
		exec.Command("ip", "link", "delete", k.bridge).Run()
	}
	for _, args := range [][]string{
		{"link", "add", k.bridge, "type", "bridge"},
		{"addr", "add", k.ip.String(), "dev", k.bridge},
		{"link", "set", k.bridge, "up"},
	} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	k.host.bridge = k.bridge

	pki, err := newKubePKI(filepath.Join(k.Dir, "pki"))
	if err != nil {
		return err
	}
	if err := pki.issue("apiserver", "kube-apiserver", nil,
		"127.0.0.1", "10.96.0.1", "localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"); err != nil {
		return err
	}
	if err := pki.issue("admin", "admin", []string{"system:masters"}); err != nil {
		return err
	}
	if err := pki.issue("kubelet", "system:node:"+k.Node, []string{"system:nodes"}); err != nil {
		return err
	}
	if err := pki.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}); err != nil {
		return err
	}
	return pki.serviceAccountKeys()
}

// freeSubnet picks the pods' /24 among a few private ones, one that no
// address of the host is in.
func freeSubnet() (netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Prefix{}, err
	}
	for _, c := range []string{"10.199.77.0/24", "10.211.77.0/24", "172.31.177.0/24", "192.168.177.0/24"} {
		p := netip.MustParsePrefix(c)
		used := false
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && p.Contains(ip.Unmap()) {
					used = true
				}
			}
		}
		if !used {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free private subnet for the pods' bridge")
}

func (k *Kube) bin(name string) string { return filepath.Join(k.Bins, name) }

// kubeDaemon is one of the node's processes.
type kubeDaemon struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// start starts argv as one of the node's daemons, logging to
// Dir/logs/name.log, in workdir when it is not "", with path as its PATH.
func (k *Kube) start(name, workdir, path string, argv ...string) (*kubeDaemon, error) {
	logs := filepath.Join(k.Dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	d := &kubeDaemon{name: name, log: filepath.Join(logs, name+".log"), exited: make(chan struct{})}
	f, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Dir = workdir
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.Env = append(os.Environ(), "PATH="+path)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	k.daemons = append(k.daemons, d)
	return d, nil
}

// wait polls answers until it reports true, as waitAnswers does, and
// says why not with the tail of d's log. It stops nothing: StartKube
// stops the whole node when a step fails.
func (k *Kube) wait(ctx context.Context, d *kubeDaemon, limit time.Duration, answers func() bool) error {
	return waitAnswers(ctx, d.name, d.log, limit, d.exited, func() error { return nil }, answers)
}

// stop ends the daemon by its PID: SIGTERM, then SIGKILL after grace.
func (d *kubeDaemon) stop(grace time.Duration) {
	select {
	case <-d.exited:
		return
	default:
	}
	syscall.Kill(d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(grace):
		syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

// freePort asks the kernel for a free TCP port on loopback.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (k *Kube) startControlPlane(ctx context.Context) error {
	kinePort, err := freePort()
	if err != nil {
		return err
	}
	apiPort, err := freePort()
	if err != nil {
		return err
	}
	kineDir := filepath.Join(k.Dir, "kine")
	if err := os.MkdirAll(kineDir, 0o700); err != nil {
		return err
	}
	kine, err := k.start("kine", kineDir, os.Getenv("PATH"), k.bin("kine"),
		"--endpoint", "sqlite://"+filepath.Join(kineDir, "state.db")+"?_journal=WAL&cache=shared&_busy_timeout=30000",
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", kinePort),
		// Its metrics would listen on every interface otherwise.
		"--metrics-bind-address", "0")
	if err != nil {
		return err
	}
	if err := k.wait(ctx, kine, 30*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", kinePort))
		if err == nil {
			c.Close()
		}
		return err == nil
	}); err != nil {
		return err
	}

	pki := filepath.Join(k.Dir, "pki")
	p := func(name string) string { return filepath.Join(pki, name) }
	api, err := k.start("kube-apiserver", "", os.Getenv("PATH"), k.bin("kube-apiserver"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", kinePort),
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+filepath.Join(k.Dir, "apiserver"),
		// A loopback advertise address is refused unless the apiserver
		// is told not to publish it as the kubernetes Service's endpoint.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--client-ca-file="+p("ca.crt"),
		"--tls-cert-file="+p("apiserver.crt"),
		"--tls-private-key-file="+p("apiserver.key"),
		"--kubelet-client-certificate="+p("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+p("apiserver-kubelet-client.key"),
		// The node's name resolves nowhere; its InternalIP is the bridge.
		"--kubelet-preferred-address-types=InternalIP",
		"--authorization-mode=Node,RBAC",
		// No controller manager makes the default ServiceAccount, which
		// this admission plugin would wait for.
		"--disable-admission-plugins=ServiceAccount",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+p("sa.pub"),
		"--service-account-signing-key-file="+p("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--feature-gates=ContainerStopSignals=true",
		"--profiling=false")
	if err != nil {
		return err
	}
	pk, err := newKubePKIFrom(pki)
	if err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := pk.kubeconfig(k.kubeconfig, server, "admin"); err != nil {
		return err
	}
	if err := pk.kubeconfig(filepath.Join(k.Dir, "kubelet.kubeconfig"), server, "kubelet"); err != nil {
		return err
	}
	return k.wait(ctx, api, 60*time.Second, func() bool {
		out, err := k.Output(ctx, "get", "--raw", "/readyz")
		return err == nil && strings.TrimSpace(out) == "ok"
	})
}

// newKubePKIFrom reopens the node's PKI for writing kubeconfigs.
func newKubePKIFrom(dir string) (*kubePKI, error) {
	if !fileExists(filepath.Join(dir, "ca.crt")) {
		return nil, fmt.Errorf("no CA in %s", dir)
	}
	return &kubePKI{dir: dir}, nil
}

func (k *Kube) startContainerd(ctx context.Context, images KubeImages) error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	cni, err := cniBinDir()
	if err != nil {
		return err
	}
	cd := filepath.Join(k.Dir, "containerd")
	hosts := filepath.Join(cd, "certs.d", "_default")
	netd := filepath.Join(k.Dir, "cni", "net.d")
	for _, d := range []string{hosts, netd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Every registry, Docker Hub included, is a closed port on
	// loopback: an image that was not imported fails at once instead of
	// being fetched from anywhere.
	if err := os.WriteFile(filepath.Join(hosts, "hosts.toml"), []byte(`server = "http://127.0.0.1:9"

[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
`), 0o644); err != nil {
		return err
	}
	subnet := k.ip.Masked()
	conflist := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "initd-kube",
		"plugins": []any{map[string]any{
			"type":      "bridge",
			"bridge":    k.bridge,
			"isGateway": false,
			"ipMasq":    false,
			"ipam": map[string]any{
				"type":    "host-local",
				"dataDir": filepath.Join(k.Dir, "cni", "ipam"),
				"ranges": []any{[]any{map[string]any{
					"subnet":     subnet.String(),
					"rangeStart": subnet.Addr().Next().Next().Next().String(),
				}}},
			},
		}},
	}
	b, _ := json.MarshalIndent(conflist, "", "  ")
	if err := os.WriteFile(filepath.Join(netd, "10-initd.conflist"), b, 0o644); err != nil {
		return err
	}
	// restrict_oom_score_adj: without CAP_SYS_RESOURCE (a root that is
	// itself in a container) runc cannot lower the sandbox's
	// oom_score_adj and every pod fails with "can't get final child's
	// PID from pipe: EOF". netns_mounts_under_state_dir keeps the pods'
	// network namespaces out of /var/run/netns; the empty cdi_spec_dirs
	// and the disabled NRI keep containerd out of /etc/cdi and
	// /var/run/nri.
	conf := fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""

[metrics]
  address = ""

[plugins.'io.containerd.internal.v1.opt']
  path = %q

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %q
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = %q

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%q]
    conf_dir = %q
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = %q
      Root = %q
      SystemdCgroup = false

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`, filepath.Join(cd, "root"), filepath.Join(cd, "state"), k.socket, k.socket+".ttrpc",
		filepath.Join(cd, "opt"), k.Sandbox, filepath.Join(cd, "certs.d"),
		cni, netd, runc, filepath.Join(cd, "runc"))
	config := filepath.Join(cd, "config.toml")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		return err
	}
	// Its own shim first: Debian's containerd 1.6 installs another
	// containerd-shim-runc-v2 in /usr/bin.
	d, err := k.start("containerd", "", k.Bins+":"+os.Getenv("PATH"), k.bin("containerd"), "--config", config)
	if err != nil {
		return err
	}
	if err := k.wait(ctx, d, 30*time.Second, func() bool {
		return k.Ctr(ctx, "version").Run() == nil
	}); err != nil {
		return err
	}
	// "containerd github.com/containerd/containerd/v2 v2.4.2+unknown"
	if v, err := exec.Command(k.bin("containerd"), "--version").Output(); err == nil {
		if f := strings.Fields(string(v)); len(f) == 3 {
			k.Runtime = strings.TrimSuffix(strings.TrimPrefix(f[2], "v"), "+unknown")
		}
	}
	for _, tarball := range append([]string{images.Sandbox}, images.Apps...) {
		if _, err := k.ctrOutput(ctx, "images", "import", tarball); err != nil {
			return err
		}
	}
	return nil
}

// Ctr returns a ctr command for this node's containerd, in the CRI's
// namespace, k8s.io.
func (k *Kube) Ctr(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, k.bin("ctr"), append([]string{"--address", k.socket, "--namespace", "k8s.io"}, args...)...)
}

func (k *Kube) ctrOutput(ctx context.Context, args ...string) (string, error) {
	return output(k.Ctr(ctx, args...), "ctr", args)
}

func (k *Kube) startKubelet(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	root := filepath.Join(k.Dir, "kubelet")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	// cgroupfs and failCgroupV1: false, for cgroup v1 hosts; oomScoreAdj
	// 0 for a root without CAP_SYS_RESOURCE, which may not lower its own
	// score; eviction thresholds of nothing, so that a nearly full CI
	// disk does not evict the pods under test.
	conf := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %s
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
makeIPTablesUtilChains: false
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
evictionHard:
  memory.available: "0%%"
  nodefs.available: "0%%"
  imagefs.available: "0%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
featureGates:
  ContainerStopSignals: true
`, k.ip.Addr(), port, filepath.Join(k.Dir, "pki", "ca.crt"), k.socket, filepath.Join(k.Dir, "pod-logs"))
	config := filepath.Join(k.Dir, "kubelet.yaml")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		return err
	}
	// The kubelet runs "iptables" when it finds it; without /sbin and
	// /usr/sbin in its PATH it does not, and leaves the host's firewall
	// alone.
	d, err := k.start("kubelet", "", "/usr/local/bin:/usr/bin:/bin", k.bin("kubelet"),
		"--config", config,
		"--kubeconfig", filepath.Join(k.Dir, "kubelet.kubeconfig"),
		"--root-dir", root,
		"--hostname-override", k.Node,
		"--node-ip", k.ip.Addr().String())
	if err != nil {
		return err
	}
	if err := k.wait(ctx, d, 90*time.Second, func() bool {
		out, err := k.Output(ctx, "get", "node", k.Node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion}`)
		f := strings.Fields(out)
		if err != nil || len(f) != 2 || f[0] != "True" {
			return false
		}
		k.Version = f[1]
		return true
	}); err != nil {
		return err
	}
	return nil
}

// Kubectl returns a kubectl command (the one built with the node) for
// this node, as its administrator.
func (k *Kube) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, k.bin("kubectl"), append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
}

// Output runs a kubectl command and returns its stdout; an error carries
// stderr.
func (k *Kube) Output(ctx context.Context, args ...string) (string, error) {
	return output(k.Kubectl(ctx, args...), "kubectl", args)
}

// Stop deletes the pods, stops the kubelet, removes what is left in
// containerd, stops containerd, the apiserver and kine by their PIDs,
// ends any shim of this node (found by Dir in its command line), unmounts
// and removes Dir, and leaves the host as StartKube found it. It is safe
// to call more than once.
func (k *Kube) Stop() error {
	if k.lock == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	byName := map[string]*kubeDaemon{}
	for _, d := range k.daemons {
		byName[d.name] = d
	}
	// Through the API first, so the kubelet tears the pods down itself
	// (their network included) while everything still runs.
	if d := byName["kubelet"]; d != nil && !exited(d) {
		k.Kubectl(ctx, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=30s").Run()
		d.stop(20 * time.Second)
	}
	if d := byName["containerd"]; d != nil && !exited(d) {
		if list, err := k.ctrOutput(ctx, "containers", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(list) {
				k.Ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id).Run()
				k.Ctr(ctx, "tasks", "delete", "-f", id).Run()
				k.Ctr(ctx, "containers", "delete", id).Run()
			}
		}
		d.stop(20 * time.Second)
	}
	for _, name := range []string{"kube-apiserver", "kine"} {
		if d := byName[name]; d != nil {
			d.stop(20 * time.Second)
		}
	}
	var errs []error
	if err := removeLeftovers(k.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := k.host.restore(); err != nil {
		errs = append(errs, err)
	}
	k.lock.Close()
	k.lock = nil
	return errors.Join(errs...)
}

func exited(d *kubeDaemon) bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// Log returns the last n lines of a daemon's log ("kubelet",
// "containerd", "kube-apiserver", "kine"), for a failure's message.
func (k *Kube) Log(name string, n int) string {
	return tail(filepath.Join(k.Dir, "logs", name+".log"), n)
}
