package config

import "testing"

// A rewrite whose FROM initd never forwards is a usage error naming the
// rule, on the command line and in INITD_REWRITE alike.
func TestRewriteNeverForwarded(t *testing.T) {
	const why = "is never forwarded (initd drops it so that it cannot be stopped by the terminal)"
	for _, tt := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"-r", "TTIN:TERM", "app"}, env(), "--rewrite TTIN:TERM: SIGTTIN " + why},
		{[]string{"--rewrite=TTOU:USR1", "app"}, env(), "--rewrite TTOU:USR1: SIGTTOU " + why},
		{[]string{"-r", "TERM:QUIT", "-r", "21:0", "app"}, env(), "--rewrite 21:0: SIGTTIN " + why},
		{[]string{"-r", "SIGCHLD:TERM", "app"}, env(), "--rewrite SIGCHLD:TERM: SIGCHLD is never forwarded (initd uses it to reap children)"},
		{[]string{"-r", "STOP:TERM", "app"}, env(), "--rewrite STOP:TERM: SIGSTOP is never forwarded (no process can catch it)"},
		{[]string{"-r", "RTMIN:TERM", "app"}, env(), "--rewrite RTMIN:TERM: SIGRTMIN is never forwarded (the Go runtime keeps it, so initd never receives it)"},
		{[]string{"-r", "TERM", "app"}, env(), "--rewrite TERM: want FROM:TO"},
		{[]string{"app"}, env("INITD_REWRITE", "TERM:QUIT,TTIN:TERM"), `INITD_REWRITE="TERM:QUIT,TTIN:TERM": TTIN:TERM: SIGTTIN ` + why},
		{[]string{"app"}, env("INITD_REWRITE", "TTOU:0"), `INITD_REWRITE="TTOU:0": TTOU:0: SIGTTOU ` + why},
	} {
		_, err := Parse(tt.args, tt.env)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q): %v; want %q", tt.args, err, tt.want)
		}
	}
	// What initd does forward is still accepted, URG included (forwarded
	// by builds that keep the runtime from sending it).
	for _, rule := range []string{"TSTP:TERM", "URG:USR1", "RTMIN+1:0", "WINCH:0"} {
		if _, err := Parse([]string{"-r", rule, "app"}, env()); err != nil {
			t.Errorf("-r %s: %v", rule, err)
		}
	}
}
