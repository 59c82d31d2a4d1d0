package main

// Socket activation at a low descriptor limit: the child's raw fork asks
// for a pidfd only where one leaves the Go runtime's poller the two
// descriptors it needs, or initd would abort when it first used the poller.

import (
	"strings"
	"testing"
)

func TestSocketActivationLowLimit(t *testing.T) {
	requireNamespaces(t)
	bothModes(t, func(t *testing.T, o runOpt) {
		// nocgroup: see spawnPaths.
		o = launch(userLaunched(o, "nocgroup"), "nofile=4", "listen-pid")
		code, p := run(t, o, "--", "/bin/sh", "-c", `echo "pid $$ $LISTEN_PID"`)
		f := strings.Fields(lineWith(p.Out(), "pid "))
		if code != 0 || len(f) != 3 || f[1] != f[2] || strings.Contains(p.Stderr(), "fatal error") {
			t.Errorf("status %d, stdout %q, stderr %.300q; want 0 and the child's pid in LISTEN_PID", code, p.Out(), p.Stderr())
		}
	})
}
