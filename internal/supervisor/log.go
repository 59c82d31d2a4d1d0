package supervisor

import (
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/initd/initd/internal/forward"
)

// Log writes initd's messages to standard error, one write per message so
// that lines from initd and the child do not interleave mid-line.
//
// It writes with write(2) directly rather than through os.Stderr, whose
// EPIPE handling would raise a SIGPIPE that kills the process. When a write
// fails with EPIPE, the kernel still raises SIGPIPE; Log counts it so that
// the supervisor can drop that one signal instead of forwarding it and
// killing the app. Log is safe for concurrent use.
type Log struct {
	Verbosity int
	ownPipes  atomic.Int32
}

// Errorf-style helpers without fmt: fmt costs about 0.25 MB of binary.

// Error reports something that went wrong; always printed.
func (l *Log) Error(msg ...string) { l.write(msg) }

// Info is printed at -v and above.
func (l *Log) Info(msg ...string) {
	if l.Verbosity >= 1 {
		l.write(msg)
	}
}

// Debug is printed at -vv and above.
func (l *Log) Debug(msg ...string) {
	if l.Verbosity >= 2 {
		l.write(msg)
	}
}

func (l *Log) write(msg []string) {
	b := make([]byte, 0, 128)
	b = append(b, "initd: "...)
	for _, m := range msg {
		b = append(b, m...)
	}
	b = append(b, '\n')
	for len(b) > 0 {
		n, err := syscall.Write(2, b)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EPIPE {
			l.ownPipes.Add(1)
		}
		if err != nil || n <= 0 {
			return
		}
		b = b[n:]
	}
}

// ownSIGPIPE reports whether a SIGPIPE is accounted for by one of Log's own
// failed writes, consuming that write. If an outside SIGPIPE arrives at the
// same moment the two merge into one signal, and that one is dropped.
func (l *Log) ownSIGPIPE() bool {
	for {
		n := l.ownPipes.Load()
		if n == 0 {
			return false
		}
		if l.ownPipes.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func signame(s syscall.Signal) string { return forward.Name(s) }
