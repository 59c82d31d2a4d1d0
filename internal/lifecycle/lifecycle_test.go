package lifecycle

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/procfs"
	"github.com/initd/initd/internal/reaper"
)

// The pids of every table: initd is 1 as PID 1 and 100 otherwise; the
// main child is 10 and leads group 10.
const (
	child = 10
	sub   = 100
)

// ev builders.
func sig(s syscall.Signal) Event { return Event{Kind: Signal, Sig: s} }
func fire(t Timer) Event         { return Event{Kind: Timeout, Timer: t} }

// exited: pids that exited with a status ("10=0", "10=sig15"), then
// whether children are left.
func exited(left bool, exits ...string) Event {
	ev := Event{Kind: Exited, Left: left}
	for _, e := range exits {
		p, st, _ := strings.Cut(e, "=")
		pid, _ := strconv.Atoi(p)
		var ws syscall.WaitStatus
		if n, ok := strings.CutPrefix(st, "sig"); ok {
			k, _ := strconv.Atoi(n)
			ws = syscall.WaitStatus(k)
		} else {
			k, _ := strconv.Atoi(st)
			ws = syscall.WaitStatus(k << 8)
		}
		ev.Exits = append(ev.Exits, reaper.Exit{Pid: pid, Status: ws})
	}
	return ev
}

// render writes the actions other than logs as short words:
// "TERM>group" (the child's group while it lives), "TERM>pgrp" (the group
// it led), "CONT>7", "KILL>all", "arm grace 5s", "disarm kill-after",
// "exit 143".
func render(acts []Action) string {
	var w []string
	timer := [...]string{"kill-after", "grace", "kill-wait", "stop-delay"}
	for _, a := range acts {
		switch a.Kind {
		case Send:
			to := map[Whom]string{Child: "child", ChildGroup: "group", Group: "pgrp", Everyone: "all"}[a.To]
			if a.To == Pid {
				to = strconv.Itoa(a.Pid)
			}
			w = append(w, strings.TrimPrefix(forward.Name(a.Sig), "SIG")+">"+to)
		case Arm:
			w = append(w, "arm "+timer[a.Timer]+" "+a.After.String())
		case Disarm:
			w = append(w, "disarm "+timer[a.Timer])
		case Exit:
			w = append(w, "exit "+strconv.Itoa(a.Status))
		}
	}
	return strings.Join(w, " ")
}

type step struct {
	ev   Event
	want string        // render of the actions
	ps   []procfs.Proc // when set, what /proc shows from this step on
}

// procs lists "pid/ppid/pgrp" entries, each with an optional start time
// ("@5", else 1), the signals it ignores (":ign2,15") and its comm
// ("=sh"), in that order; nil means /proc is unusable.
func procs(entries ...string) []procfs.Proc {
	ps := []procfs.Proc{}
	for _, e := range entries {
		e, comm, _ := strings.Cut(e, "=")
		e, ign, _ := strings.Cut(e, ":ign")
		e, start, _ := strings.Cut(e, "@")
		f := strings.Split(e, "/")
		a, _ := strconv.Atoi(f[0])
		b, _ := strconv.Atoi(f[1])
		c, _ := strconv.Atoi(f[2])
		p := procfs.Proc{Pid: a, Ppid: b, Pgrp: c, Start: 1, Comm: comm}
		if start != "" {
			p.Start, _ = strconv.ParseUint(start, 10, 64)
		}
		for _, n := range strings.Split(ign, ",") {
			if k, err := strconv.Atoi(n); err == nil {
				p.Ignored |= 1 << (k - 1)
			}
		}
		ps = append(ps, p)
	}
	return ps
}

func base() Config {
	return Config{Grace: 5 * time.Second, Stop: forward.DefaultStop, Policy: forward.Policy{ForwardURG: true}}
}

func pid1() Config {
	c := base()
	c.PID1 = true
	return c
}

func with(c Config, f func(*Config)) Config { f(&c); return c }

// shell is c for a main child that is "sh -c COMMAND" (whose procs show
// "10/1/10=sh").
func shell(c Config) Config { c.Shell = "sh"; return c }

// delay is c with --stop-delay 3s and --kill-after 2s.
func delay(c Config) Config {
	c.StopDelay, c.KillAfter = 3*time.Second, 2*time.Second
	return c
}

func TestRules(t *testing.T) {
	tests := []struct {
		rule  string
		cfg   Config
		procs []procfs.Proc // what /proc shows during the run; nil: no /proc
		steps []step
	}{
		// Exit status and the plain cases.
		{"the child alone: its status at once", pid1(), procs(), []step{
			{exited(false, "10=42"), "exit 42", nil},
		}},
		{"a child killed by a signal: 128+n", pid1(), procs(), []step{
			{exited(false, "10=sig9"), "exit 137", nil},
		}},
		{"orphans reaped while the child runs change nothing", pid1(), procs(), []step{
			{exited(true, "20=1", "21=sig9"), "", nil},
			{exited(false, "10=0"), "exit 0", nil},
		}},
		{"a status the kernel could not give back: initd's own failure, 125", pid1(), procs(), []step{
			{Event{Kind: Exited, Exits: []reaper.Exit{{Pid: child, Lost: true}}}, "exit 125", nil},
		}},
		{"the child's status even when reaped together with orphans", pid1(), procs(), []step{
			{exited(false, "20=7", "10=3", "21=9"), "exit 3", nil},
		}},

		// Forwarding.
		{"a signal goes to the child's group", pid1(), procs(), []step{
			{sig(syscall.SIGUSR1), "USR1>group", nil},
			{sig(syscall.SIGTERM), "TERM>group", nil},
		}},
		{"--single-child: to the child alone", with(pid1(), func(c *Config) { c.SingleChild = true }), procs(), []step{
			{sig(syscall.SIGHUP), "HUP>child", nil},
		}},
		{"TTIN and TTOU are dropped, TSTP is forwarded", pid1(), procs(), []step{
			{sig(syscall.SIGTTIN), "", nil},
			{sig(syscall.SIGTTOU), "", nil},
			{sig(syscall.SIGTSTP), "TSTP>group", nil},
		}},
		{"SIGCHLD is never forwarded", pid1(), procs(), []step{
			{sig(syscall.SIGCHLD), "", nil},
		}},
		{"SIGURG dropped while the runtime may send it", with(pid1(), func(c *Config) { c.Policy.ForwardURG = false }), procs(), []step{
			{sig(syscall.SIGURG), "", nil},
		}},
		{"SIGURG forwarded when the runtime never sends it", pid1(), procs(), []step{
			{sig(syscall.SIGURG), "URG>group", nil},
		}},
		{"SIGPIPE is forwarded like the rest", pid1(), procs(), []step{
			{sig(syscall.SIGPIPE), "PIPE>group", nil},
		}},
		{"a rewrite applies before delivery; 0 drops", with(pid1(), func(c *Config) {
			c.Policy.Rules.Set(syscall.SIGTERM, syscall.SIGQUIT)
			c.Policy.Rules.Set(syscall.SIGUSR1, 0)
		}), procs(), []step{
			{sig(syscall.SIGTERM), "QUIT>group", nil},
			{sig(syscall.SIGUSR1), "", nil},
		}},

		// --kill-after and the stop set (issue items 1 and 2).
		{"a stop signal starts --kill-after, which SIGKILLs the group", with(pid1(), func(c *Config) { c.KillAfter = 2 * time.Second }), procs(), []step{
			{sig(syscall.SIGTERM), "TERM>group arm kill-after 2s", nil},
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{fire(KillAfterTimer), "KILL>group", nil},
			{exited(false, "10=sig9"), "exit 137", nil},
		}},
		{"a reload (HUP) or thread dump (QUIT) does not start --kill-after", with(pid1(), func(c *Config) { c.KillAfter = 2 * time.Second }), procs(), []step{
			{sig(syscall.SIGHUP), "HUP>group", nil},
			{sig(syscall.SIGQUIT), "QUIT>group", nil},
			{fire(KillAfterTimer), "", nil},
		}},
		{"the child's exit disarms --kill-after", with(pid1(), func(c *Config) { c.KillAfter = 2 * time.Second }), procs(), []step{
			{sig(syscall.SIGINT), "INT>group arm kill-after 2s", nil},
			{exited(false, "10=0"), "disarm kill-after exit 0", nil},
		}},
		{"a rewritten stop signal is still a stop signal", with(pid1(), func(c *Config) {
			c.KillAfter = time.Second
			c.Policy.Rules.Set(syscall.SIGTERM, syscall.SIGQUIT)
		}), procs(), []step{
			{sig(syscall.SIGTERM), "QUIT>group arm kill-after 1s", nil},
		}},
		{"--stop-signals QUIT: QUIT is the stop, TERM is not", with(pid1(), func(c *Config) {
			c.KillAfter = time.Second
			c.Stop = forward.SetOf(syscall.SIGQUIT)
		}), procs(), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{sig(syscall.SIGQUIT), "QUIT>group arm kill-after 1s", nil},
		}},

		// The drain: initd's own SIGTERM, then SIGCONT (item 4).
		{"PID 1: leftovers get TERM and CONT, then grace, then exit when none is left", pid1(), procs(), []step{
			{exited(true, "10=0"), "TERM>all CONT>all arm grace 5s", nil},
			{exited(false, "20=0"), "disarm grace exit 0", nil},
		}},
		{"PID 1: grace over, SIGKILL and exit at once", pid1(), procs(), []step{
			{exited(true, "10=1"), "TERM>all CONT>all arm grace 5s", nil},
			{fire(GraceTimer), "KILL>all exit 1", nil},
		}},
		{"PID 1, --grace 0: exit at once", with(pid1(), func(c *Config) { c.Grace = 0 }), procs(), []step{
			{exited(true, "10=0"), "KILL>all exit 0", nil},
		}},
		{"an earlier HUP does not spare the group its SIGTERM (item 2)", pid1(), procs("11/10/10"), []step{
			{sig(syscall.SIGHUP), "HUP>group", nil},
			{exited(true, "10=0"), "TERM>all CONT>all arm grace 5s", nil},
		}},
		{"a forwarded stop spares the group initd's SIGTERM; others still get it", pid1(), procs("11/1/10", "30/1/30"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "TERM>30 CONT>30 arm grace 5s", nil},
		}},
		{"--single-child: the group never got the stop, so it gets initd's", with(pid1(), func(c *Config) { c.SingleChild = true }), procs("10/1/10", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>child", nil},
			{exited(true, "10=sig15"), "TERM>11 CONT>11 arm grace 5s", procs("11/1/10")},
		}},
		{"--single-child: --kill-after SIGKILLs the child alone", with(pid1(), func(c *Config) {
			c.SingleChild = true
			c.KillAfter = time.Second
		}), procs(), []step{
			{sig(syscall.SIGTERM), "TERM>child arm kill-after 1s", nil},
			{fire(KillAfterTimer), "KILL>child", nil},
		}},

		// Who was told: what each process got, when it got it (issue 16,
		// items 6 and 7).
		{"a process that ignores the stop it was sent was not told", pid1(), procs("10/1/10", "11/10/10:ign2"), []step{
			{sig(syscall.SIGINT), "INT>group", nil},
			{exited(true, "10=sig2"), "TERM>11 CONT>11 arm grace 5s", procs("11/1/10:ign2")},
		}},
		{"a process that blocks the stop was told: it waits for it", pid1(), procs("10/1/10", "11/10/10"), []step{
			{sig(syscall.SIGINT), "INT>group", nil},
			{exited(true, "10=sig2"), "arm grace 5s", procs("11/1/10")},
		}},
		{"told stays told after setsid() in its handler", pid1(), procs("10/1/10", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/11")},
		}},
		{"cleanup started after the stop is spared, in the group or out of it", pid1(), procs("10/1/10", "20/1/20"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=0"), "TERM>20 CONT>20 arm grace 5s", procs("20/1/20", "12/1/10", "13/1/13")},
			{fire(GraceTimer), "KILL>all exit 0", nil},
		}},
		{"a forwarded TERM that is not a stop still counts: no second TERM", with(pid1(), func(c *Config) {
			c.Stop = forward.SetOf(syscall.SIGQUIT)
		}), procs("10/1/10", "11/10/10", "20/1/20"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "TERM>20 CONT>20 arm grace 5s", procs("11/1/10", "20/1/20")},
		}},
		{"a HUP rewritten to TERM counts as TERM", with(pid1(), func(c *Config) {
			c.Policy.Rules.Set(syscall.SIGHUP, syscall.SIGTERM)
		}), procs("10/1/10", "11/10/10"), []step{
			{sig(syscall.SIGHUP), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
		}},
		{"a reused pid is a new process: its record does not carry over", base(), procs("10/100/10", "30/100/30@5"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "TERM>30 CONT>30 arm grace 5s", procs("30/100/30@5")},
			{exited(true, "30=0"), "", procs("31/100/31@9")},
			{exited(true), "", procs("30/100/30@9", "31/100/31@9")},
		}},
		{"a pid reused after its record: not spared as told", with(pid1(), func(c *Config) {
			c.Stop = forward.SetOf(syscall.SIGQUIT)
		}), procs("10/1/10", "11/10/10@5"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "TERM>11 CONT>11 arm grace 5s", procs("11/1/11@9")},
		}},

		// A stop during the drain (item 3) and other signals.
		{"PID 1: a stop during the drain does not reach those initd already sent it", pid1(), procs(), []step{
			{exited(true, "10=0"), "TERM>all CONT>all arm grace 5s", nil},
			{sig(syscall.SIGTERM), "", nil},
			{sig(syscall.SIGHUP), "HUP>all", nil},
			{sig(syscall.SIGINT), "INT>all", nil},
			{sig(syscall.SIGINT), "", nil},
		}},
		{"not PID 1: a stop during the drain does not reach those initd already sent it", base(), procs("11/100/10", "30/100/30"), []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp TERM>30 CONT>30 arm grace 5s", nil},
			{sig(syscall.SIGTERM), "", nil},
			{sig(syscall.SIGUSR1), "USR1>pgrp USR1>30", nil},
		}},
		{"a rewritten stop during the drain: the delivered signal counts", with(pid1(), func(c *Config) {
			c.Policy.Rules.Set(syscall.SIGTERM, syscall.SIGQUIT)
		}), procs("11/1/10"), []step{
			{sig(syscall.SIGTERM), "QUIT>group", nil},
			{exited(true, "10=sig3"), "arm grace 5s", nil},
			{sig(syscall.SIGTERM), "", nil},
		}},
		{"nothing is forwarded once SIGKILL is under way", base(), procs("30/100/30"), []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp TERM>30 CONT>30 arm grace 5s", nil},
			{fire(GraceTimer), "KILL>pgrp KILL>30 arm kill-wait 1s", nil},
			{sig(syscall.SIGTERM), "", nil},
			{exited(false, "30=sig9"), "disarm kill-wait exit 0", nil},
		}},

		// Not PID 1: only initd's own tree.
		{"not PID 1: never kill(-1); only the group and initd's own children", base(), procs("11/10/10", "30/100/30", "40/1/40", "41/30/30"), []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp TERM>30 CONT>30 arm grace 5s", nil},
			{fire(GraceTimer), "KILL>pgrp KILL>30 arm kill-wait 1s", nil},
		}},
		{"not PID 1: an orphan adopted later gets its own SIGTERM, none gets two", base(), procs("30/100/30", "31/30/30", "50/100/50"), []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp TERM>30 CONT>30 TERM>50 CONT>50 arm grace 5s", nil},
			{exited(true, "30=0"), "TERM>31 CONT>31", procs("31/100/30", "50/100/50")},
			{exited(true, "31=0"), "", procs("50/100/50")},
			{exited(true), "TERM>32 CONT>32", procs("50/100/50", "32/100/32")},
			{exited(true), "", procs("50/100/50", "32/100/32")},
		}},
		{"not PID 1: orphans of killed processes are killed too", base(), procs("30/100/30"), []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp TERM>30 CONT>30 arm grace 5s", nil},
			{fire(GraceTimer), "KILL>pgrp KILL>30 arm kill-wait 1s", nil},
			{exited(true, "30=sig9"), "KILL>pgrp KILL>30", nil},
			{fire(KillWaitTimer), "exit 0", nil},
		}},
		{"not PID 1, --grace 0: SIGKILL what is left (item 8)", with(base(), func(c *Config) { c.Grace = 0 }), procs("30/100/30"), []step{
			{exited(true, "10=0"), "KILL>pgrp KILL>30 arm kill-wait 1s", nil},
			{exited(false, "30=sig9"), "disarm kill-wait exit 0", nil},
		}},
		{"not PID 1 without /proc: the grace period ends on time (item 5)", base(), nil, []step{
			{exited(true, "10=0"), "TERM>pgrp CONT>pgrp arm grace 5s", nil},
			{fire(GraceTimer), "KILL>pgrp exit 0", nil},
		}},
		{"PID 1 without its own /proc: a told group, others unseen (item 6)", pid1(), nil, []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", nil},
			{fire(GraceTimer), "KILL>all exit 143", nil},
		}},
		{"PID 1 with a /proc that lists them: a daemon outside the told group gets SIGTERM (item 6)", pid1(), procs("11/1/10", "30/1/30"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "TERM>30 CONT>30 arm grace 5s", nil},
			{sig(syscall.SIGTERM), "", nil},
		}},

		// The shell's status (issue 16, item 3): sh -c, waiting for
		// exactly one command when the stop was delivered.
		{"a shell killed by the forwarded stop: the status of the command it ran", shell(pid1()), procs("10/1/10=sh", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
			{exited(false, "11=3"), "disarm grace exit 3", nil},
		}},
		{"--report-shell: the shell's own status", with(shell(pid1()), func(c *Config) { c.ReportShell = true }), procs("10/1/10=sh", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
			{exited(false, "11=3"), "disarm grace exit 143", nil},
		}},
		{"not a shell running -c: the main child's own status", pid1(), procs("10/1/10=sh", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
			{exited(false, "11=3"), "disarm grace exit 143", nil},
		}},
		{"a shell that exec'd its last command is that command: its own status", shell(pid1()), procs("10/1/10=sleep", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
			{exited(false, "11=7"), "disarm grace exit 143", nil},
		}},
		{"a shell with two children when stopped (worker & app): its own status", shell(pid1()), procs("10/1/10=sh", "12/10/10", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15", "12=sig15"), "arm grace 5s", procs("11/1/10")},
			{exited(false, "11=7"), "disarm grace exit 143", nil},
		}},
		{"the one command was reaped before the shell died: the shell's status", shell(pid1()), procs("10/1/10=sh", "11/10/10@3"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10@8")},
			{exited(false, "11=3"), "disarm grace exit 143", nil},
		}},
		{"a shell that died of something initd did not send keeps its status", shell(pid1()), procs("10/1/10=sh", "11/10/10"), []step{
			{exited(true, "10=sig15"), "TERM>all CONT>all arm grace 5s", procs("11/1/10")},
			{exited(false, "11=3"), "disarm grace exit 143", nil},
		}},
		{"the command SIGKILLed at the end of the grace period: 137", shell(base()), procs("10/100/10=sh", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/100/10")},
			{fire(GraceTimer), "KILL>pgrp arm kill-wait 1s", nil},
			{exited(false, "11=sig9"), "disarm kill-wait exit 137", nil},
		}},
		{"PID 1: the command outlives the grace period: 137, as documented (item 4)", shell(pid1()), procs("10/1/10=sh", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{exited(true, "10=sig15"), "arm grace 5s", procs("11/1/10")},
			{fire(GraceTimer), "KILL>all exit 137", nil},
		}},

		// --stop-delay (issue 18).
		{"--stop-delay holds the stop, then forwards it and starts --kill-after", delay(pid1()), procs(), []step{
			{sig(syscall.SIGTERM), "arm stop-delay 3s", nil},
			{sig(syscall.SIGUSR1), "USR1>group", nil},
			{sig(syscall.SIGHUP), "HUP>group", nil},
			{fire(StopDelayTimer), "TERM>group arm kill-after 2s", nil},
			{sig(syscall.SIGTERM), "TERM>group", nil},
			{fire(KillAfterTimer), "KILL>group", nil},
		}},
		{"--stop-delay: a second stop is forwarded at once and ends the delay", delay(pid1()), procs(), []step{
			{sig(syscall.SIGTERM), "arm stop-delay 3s", nil},
			{sig(syscall.SIGINT), "disarm stop-delay INT>group arm kill-after 2s", nil},
			{fire(StopDelayTimer), "", nil},
			{exited(false, "10=sig2"), "disarm kill-after exit 130", nil},
		}},
		{"--stop-delay: the child's exit ends the delay; the others get initd's SIGTERM", delay(pid1()), procs("10/1/10", "11/10/10"), []step{
			{sig(syscall.SIGTERM), "arm stop-delay 3s", nil},
			{exited(true, "10=0"), "disarm stop-delay TERM>all CONT>all arm grace 5s", procs("11/1/10")},
			{fire(StopDelayTimer), "", nil},
		}},
		{"--stop-delay: the rewrite applies to the held signal", with(delay(pid1()), func(c *Config) {
			c.Policy.Rules.Set(syscall.SIGTERM, syscall.SIGQUIT)
		}), procs(), []step{
			{sig(syscall.SIGTERM), "arm stop-delay 3s", nil},
			{fire(StopDelayTimer), "QUIT>group arm kill-after 2s", nil},
		}},
		{"--stop-delay does not delay --pause", with(delay(pid1()), func(c *Config) { c.Pause = true }), procs(), []step{
			{sig(syscall.SIGTERM), "exit 0", nil},
		}},

		// Pause.
		{"--pause: reap, exit 0 on TERM or INT only", with(pid1(), func(c *Config) { c.Pause = true }), procs(), []step{
			{exited(false, "20=1"), "", nil},
			{sig(syscall.SIGHUP), "", nil},
			{sig(syscall.SIGINT), "exit 0", nil},
		}},
		{"--pause exits on TERM even when a rewrite would drop it", with(pid1(), func(c *Config) {
			c.Pause = true
			c.Policy.Rules.Set(syscall.SIGTERM, 0)
		}), procs(), []step{
			{sig(syscall.SIGTERM), "exit 0", nil},
		}},
		{"nothing happens after exit", pid1(), procs(), []step{
			{exited(false, "10=0"), "exit 0", nil},
			{sig(syscall.SIGTERM), "", nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			self := sub
			if tt.cfg.PID1 {
				self = 1
			}
			cur := tt.procs
			list := func() ([]procfs.Proc, bool) { return cur, cur != nil }
			c := New(tt.cfg, self, child, list)
			if tt.cfg.Pause {
				c = New(tt.cfg, self, 0, list)
			}
			for i, s := range tt.steps {
				if s.ps != nil {
					cur = s.ps
				}
				if got := render(c.Step(s.ev)); got != s.want {
					t.Fatalf("step %d: got %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

// The hot paths (a forwarded signal, a reaped orphan) must not allocate:
// a storm of either would leave garbage behind for every event.
func TestStepAllocatesNothing(t *testing.T) {
	c := New(pid1(), 1, child, func() ([]procfs.Proc, bool) { return nil, false })
	usr1, orphan := sig(syscall.SIGUSR1), exited(true, "20=0")
	c.Step(usr1)
	if a := testing.AllocsPerRun(100, func() { c.Step(usr1); c.Step(orphan) }); a != 0 {
		t.Errorf("Step allocates %v times per signal and orphan", a)
	}
}
