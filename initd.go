// Package initd holds what the initd binary says about itself: its version
// and its license. The init lives in cmd/initd and the packages under
// internal/, which follow a signal from the kernel to the child and a
// zombie from its exit to its reaping:
//
//	internal/config      command line and environment into a Config
//	internal/supervisor  the shell: subscribes to signals, starts the child,
//	                     turns what the kernel reports into events and
//	                     carries out the core's actions, delivering signals
//	                     to the child and its group by pidfd
//	internal/lifecycle   the core: events in, actions out, no system calls;
//	                     every forwarding and shutdown rule
//	internal/forward     the signal table, the delivery policy and rewrite
//	                     rules, the stop set
//	internal/reaper      the wait4 loop, kernel reaping (SIGCHLD ignored,
//	                     the main child's exit from its pidfd), subreaper
//	internal/spawn       execvp-like search, fork and exec, exec errors
//	internal/user        --user: names and ids from /etc/passwd and /etc/group
//	internal/procfs      the processes of initd's namespace, from /proc
//	internal/exitstatus  the statuses initd exits with, and --remap-exit
//
// This map is the only one: README.md and docs/design.md point here.
package initd

import (
	_ "embed"
	"strconv"
	"strings"
)

// License is the text printed by initd --license.
//
//go:embed LICENSE
var License string

// version and commit are stamped at release time with
// -ldflags "-X github.com/initd/initd.version=... -X github.com/initd/initd.commit=...".
// The go command's own VCS stamp is not read: runtime/debug, which reads
// it, pulls fmt and reflect into the binary (about 0.1 MB).
var (
	version = "0.1.0"
	commit  = "unknown"
)

// VersionLine is the line printed by initd --version, in the shape dockerd
// parses for its docker-init ("tini version X - git.Y").
func VersionLine() string {
	c := commit
	if c == "" {
		c = "unknown" // stamped empty, e.g. by a build script outside git
	}
	return "initd version " + version + " - git." + c
}

// linkedGodebug must be stamped with the same value as the runtime's
// default GODEBUG (-X=runtime.godebugDefault=...): the runtime keeps its
// copy private and a -trimpath build does not record its -ldflags.
var linkedGodebug string

// AsyncPreemptOff reports whether the runtime was linked with asynchronous
// preemption switched off and godebug, the GODEBUG of the environment, does
// not switch it back on. Only then does the runtime never send itself
// SIGURG, so that every SIGURG initd receives came from outside.
func AsyncPreemptOff(godebug string) bool {
	off := false
	// The runtime applies the linked default first, then GODEBUG; the
	// last setting of a key wins.
	for _, kv := range strings.Split(linkedGodebug+","+godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "asyncpreemptoff="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				off = n != 0
			}
		}
	}
	return off
}
