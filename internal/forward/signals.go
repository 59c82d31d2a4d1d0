// Package forward knows every Linux signal and decides what initd
// delivers for each one it receives; package supervisor carries the
// delivery out.
//
// # Which signals are forwarded
//
// Every signal a Go program can receive is forwarded (Policy.Deliver)
// except:
//
//   - SIGCHLD, which means "reap now" and belongs to the reaper;
//   - SIGTTIN and SIGTTOU, which are received and dropped: once the child's
//     group owns the terminal, the kernel sends them to initd's own group,
//     and forwarding them would stop the child;
//   - SIGURG, unless the binary was built with asynchronous preemption
//     switched off: the Go runtime sends itself SIGURG to preempt
//     goroutines, and those are indistinguishable from real ones;
//   - a SIGPIPE that initd caused itself by writing to a closed stderr.
//
// Rewrite rules (Rules) apply last; a rule whose FROM initd never forwards
// is refused when it is set, since it could never apply.
//
// SIGKILL and SIGSTOP cannot be caught by anyone. SIGPROF and signals 32,
// 33 and 34 (SIGRTMIN) are kept by the Go runtime and never reach a Go
// program: initd cannot forward them, and 32 and 34 sent to initd when it
// is not PID 1 kill it with the kernel's default action. SIGRTMIN+1 to
// SIGRTMAX work.
//
// # Stop signals
//
// Set holds the stop signals (DefaultStop: TERM and INT), the ones that
// start --kill-after and count as telling a process to stop. They are a
// property of the signal as received, before any rewrite.
//
// # Merging and order
//
// Repeats of one signal that arrive before initd has read the first merge
// into one inside the kernel and the Go runtime, real-time signals
// included. Different signals that are pending at the same moment come
// out lowest number first, as the kernel delivers them and as Go's signal
// loop reads its pending set; signals that arrive one at a time keep their
// order.
//
// # Faults
//
// SIGSEGV, SIGBUS, SIGFPE and SIGILL raised by a fault inside initd still
// crash it; the same numbers sent with kill(2) are forwarded.
package forward

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
)

// NSig is one more than the largest signal number on Linux.
const NSig = 65

// Class says what initd does with a signal it receives.
type Class uint8

const (
	Forwarded   Class = iota // delivered to the child
	Reap                     // SIGCHLD: reap now
	Dropped                  // received and discarded: SIGTTIN, SIGTTOU
	Preempt                  // SIGURG: forwarded only when the runtime never sends it
	Uncatchable              // SIGKILL, SIGSTOP
	Runtime                  // kept by the Go runtime: SIGPROF, 32, 33, 34
)

// names holds every signal's name, so that Name allocates nothing on the
// forwarding path. 32 and 33 have none: the C library reserves them, and
// SIGRTMIN is 34.
var names = [NSig]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP",
	6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1",
	11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
	16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
	20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU",
	25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH",
	29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS", 34: "SIGRTMIN", 35: "SIGRTMIN+1",
	36: "SIGRTMIN+2", 37: "SIGRTMIN+3", 38: "SIGRTMIN+4", 39: "SIGRTMIN+5",
	40: "SIGRTMIN+6", 41: "SIGRTMIN+7", 42: "SIGRTMIN+8", 43: "SIGRTMIN+9",
	44: "SIGRTMIN+10", 45: "SIGRTMIN+11", 46: "SIGRTMIN+12",
	47: "SIGRTMIN+13", 48: "SIGRTMIN+14", 49: "SIGRTMIN+15",
	50: "SIGRTMAX-14", 51: "SIGRTMAX-13", 52: "SIGRTMAX-12",
	53: "SIGRTMAX-11", 54: "SIGRTMAX-10", 55: "SIGRTMAX-9", 56: "SIGRTMAX-8",
	57: "SIGRTMAX-7", 58: "SIGRTMAX-6", 59: "SIGRTMAX-5", 60: "SIGRTMAX-4",
	61: "SIGRTMAX-3", 62: "SIGRTMAX-2", 63: "SIGRTMAX-1", 64: "SIGRTMAX",
}

// Real-time signal numbers as glibc and the kernel's users see them; the
// libc reserves 32 and 33, so SIGRTMIN is 34.
const (
	rtMin = 34
	rtMax = 64
)

// ClassOf returns what initd does with sig.
func ClassOf(sig syscall.Signal) Class {
	switch sig {
	case syscall.SIGCHLD:
		return Reap
	case syscall.SIGTTIN, syscall.SIGTTOU:
		return Dropped
	case syscall.SIGURG:
		return Preempt
	case syscall.SIGKILL, syscall.SIGSTOP:
		return Uncatchable
	case syscall.SIGPROF, 32, 33, rtMin:
		return Runtime
	}
	return Forwarded
}

// Upper returns s with ASCII letters in upper case. Signal names and
// the words initd parses are ASCII; strings.ToUpper would pull the
// Unicode case tables into the binary for them.
func Upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Name returns the signal's name with the SIG prefix, such as "SIGTERM" or
// "SIGRTMIN+3", or "signal N" for numbers outside 1 to 64.
func Name(sig syscall.Signal) string {
	if sig > 0 && sig < NSig && names[sig] != "" {
		return names[sig]
	}
	return "signal " + strconv.Itoa(int(sig))
}

// Parse reads a signal given by number ("15"), by name with or without
// the SIG prefix in any case ("TERM", "sigterm"), or as a real-time offset
// ("RTMIN+3", "SIGRTMAX-1"). It accepts 1 to 64 only.
func Parse(s string) (syscall.Signal, error) {
	bad := func(why string) (syscall.Signal, error) {
		return 0, errors.New("signal " + strconv.Quote(s) + " " + why)
	}
	if s == "" {
		return bad("is empty")
	}
	if c := s[0]; c >= '0' && c <= '9' {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n >= NSig {
			return bad("is not a signal number from 1 to 64")
		}
		return syscall.Signal(n), nil
	}
	u := strings.TrimPrefix(Upper(s), "SIG")
	for n, name := range names[:32] {
		if name != "" && name[3:] == u {
			return syscall.Signal(n), nil
		}
	}
	// Common aliases from kill -l and other inits.
	switch u {
	case "IOT":
		return syscall.SIGABRT, nil
	case "POLL":
		return syscall.SIGIO, nil
	case "CLD":
		return syscall.SIGCHLD, nil
	}
	base, off := 0, ""
	switch {
	case strings.HasPrefix(u, "RTMIN"):
		base, off = rtMin, u[5:]
	case strings.HasPrefix(u, "RTMAX"):
		base, off = rtMax, u[5:]
	default:
		return bad("is not a known signal name")
	}
	n := base
	if off != "" {
		if len(off) < 2 || (off[0] != '+' && off[0] != '-') || off[1] < '0' || off[1] > '9' {
			return bad("has a malformed real-time offset")
		}
		k, err := strconv.Atoi(off[1:])
		if err != nil || k > rtMax-rtMin {
			return bad("is outside SIGRTMIN to SIGRTMAX")
		}
		if off[0] == '+' {
			n += k
		} else {
			n -= k
		}
	}
	if n < rtMin || n > rtMax {
		return bad("is outside SIGRTMIN to SIGRTMAX")
	}
	return syscall.Signal(n), nil
}
