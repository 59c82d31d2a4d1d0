package demo

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// kubeletSysctls are what the kubelet sets at start, whatever it is told.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// kubeletDirs are created on the host by the kubelet (device-plugins,
// /var/log/containers, whatever --root-dir says) or by the CNI library
// (its cache in /var/lib/cni); only the node uses them.
var kubeletDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni"}

// sharedDirs are created by containerd's and the CNI plugins' defaults
// but may be in use by another runtime meanwhile (Debian's containerd 1.6
// keeps its shims' sockets in /run/containerd/s): only what is left
// empty is removed.
var sharedDirs = []string{"/run/containerd", "/run/netns", "/run/nri", "/etc/cdi", "/run/cdi", "/opt/containerd", "/etc/cni", "/opt/cni"}

// kubeCgroups are the cgroups the kubelet (kubepods) and containerd
// (k8s.io) make at the top of every cgroup v1 hierarchy.
var kubeCgroups = []string{"kubepods", "kubepods.slice", "k8s.io"}

// hostState is what a node changes outside its directory, saved before it
// starts.
type hostState struct {
	summary string // hostSummary, to compare with at the end
	sysctls map[string]string
	absent  map[string]bool // paths that did not exist
	bridge  string          // the bridge the node made, "" before
}

func saveHost() hostState {
	h := hostState{summary: hostSummary(), sysctls: map[string]string{}, absent: map[string]bool{}}
	for _, s := range kubeletSysctls {
		if b, err := os.ReadFile(filepath.Join("/proc/sys", s)); err == nil {
			h.sysctls[s] = strings.TrimSpace(string(b))
		}
	}
	for _, p := range append(append(kubeletDirs, sharedDirs...), cgroupPaths()...) {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			h.absent[p] = true
		}
	}
	return h
}

// cgroupPaths lists kubeCgroups in every mounted cgroup hierarchy: the
// top of each v1 hierarchy, or the one v2 hierarchy.
func cgroupPaths() []string {
	var tops []string
	if fileExists("/sys/fs/cgroup/cgroup.controllers") {
		tops = []string{"/sys/fs/cgroup"}
	} else {
		ents, _ := os.ReadDir("/sys/fs/cgroup")
		for _, e := range ents {
			// cpu and cpuacct are symbolic links to cpu,cpuacct: not
			// directories here.
			if e.IsDir() {
				tops = append(tops, filepath.Join("/sys/fs/cgroup", e.Name()))
			}
		}
	}
	var paths []string
	for _, t := range tops {
		for _, c := range kubeCgroups {
			paths = append(paths, filepath.Join(t, c))
		}
	}
	return paths
}

// hostSummary describes what only a node changes on the host, one line
// per thing: the sysctls the kubelet sets, and whether the kubelet's
// directories, the kubepods cgroups and the bridge exist. sharedDirs are
// left out: another runtime may create them meanwhile.
func hostSummary() string {
	var lines []string
	for _, s := range kubeletSysctls {
		b, _ := os.ReadFile(filepath.Join("/proc/sys", s))
		lines = append(lines, s+" = "+strings.TrimSpace(string(b)))
	}
	for _, p := range append(append(kubeletDirs, cgroupPaths()...), "/sys/class/net/"+kubeBridge) {
		_, err := os.Lstat(p)
		lines = append(lines, fmt.Sprintf("%s exists: %v", p, err == nil))
	}
	return strings.Join(lines, "\n")
}

// changed lists the lines of now that differ from was, both made by
// hostSummary.
func changed(was, now string) string {
	a, b := strings.Split(was, "\n"), strings.Split(now, "\n")
	var diff []string
	for i := range b {
		if i >= len(a) || a[i] != b[i] {
			diff = append(diff, b[i])
		}
	}
	return strings.Join(diff, "\n")
}

// restore puts back what saveHost recorded: the sysctls' values, and no
// directory, cgroup or bridge that was not there.
func (h hostState) restore() error {
	var errs []error
	for s, v := range h.sysctls {
		p := filepath.Join("/proc/sys", s)
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != v {
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("restoring %s to %s: %v", s, v, err))
			}
		}
	}
	if h.bridge != "" {
		if _, err := net.InterfaceByName(h.bridge); err == nil {
			if out, err := exec.Command("ip", "link", "delete", h.bridge).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link delete %s: %v: %s", h.bridge, err, out))
			}
		}
	}
	for _, p := range kubeletDirs {
		if h.absent[p] {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, p := range sharedDirs {
		if h.absent[p] {
			removeEmptyDirs(p)
		}
	}
	for _, p := range cgroupPaths() {
		if h.absent[p] {
			if err := removeCgroup(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if now := hostSummary(); now != h.summary {
		errs = append(errs, fmt.Errorf("the host is not as the node found it:\n%s", changed(h.summary, now)))
	}
	return errors.Join(errs...)
}

// dirsDeepestFirst lists dir and the directories under it, each after
// those below it, the order in which they can be removed.
func dirsDeepestFirst(dir string) []string {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs
}

// removeEmptyDirs removes dir and the directories under it as far as
// they are empty.
func removeEmptyDirs(dir string) {
	for _, d := range dirsDeepestFirst(dir) {
		os.Remove(d)
	}
}

// removeCgroup removes a cgroup and its children, deepest first; a cgroup
// is removed with rmdir whatever control files it shows.
func removeCgroup(dir string) error {
	var last error
	for _, d := range dirsDeepestFirst(dir) {
		// A cgroup whose last process has just died can be busy for a
		// moment.
		for i := 0; ; i++ {
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if i == 50 {
				last = fmt.Errorf("rmdir %s: %v", d, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return last
}
