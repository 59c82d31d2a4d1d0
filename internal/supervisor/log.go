package supervisor

import (
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/forward"
)

// Log writes initd's messages to standard error, one write per message so
// that lines from initd and the child do not interleave mid-line.
//
// It writes with write(2) directly rather than through os.Stderr, whose
// EPIPE handling would raise a SIGPIPE that kills the process. A write to
// a closed stderr still makes the kernel send SIGPIPE to the writing
// thread, and initd would forward it and kill the app for initd's own
// failure; counting those signals is not exact, since a SIGPIPE from
// outside merges with them. So Log writes with SIGPIPE blocked on its
// thread and takes the one a failed write raised off that thread before
// unblocking: it never reaches the supervisor, and every SIGPIPE that does
// came from outside.
//
// SIGTTOU is blocked on that thread too. On a terminal set to "stty
// tostop" initd writes from a background group once the child's group has
// the foreground, and the kernel answers such a write with SIGTTOU and a
// restart; initd catches SIGTTOU to drop it, so the write would restart
// for ever at full CPU. From a thread that blocks SIGTTOU the kernel lets
// the write through, as it does for tini, whose signals are all blocked.
// A child gets the signal mask of the thread that forks it, and no fork
// runs on this thread while it is locked to the write, so no child
// inherits the blocked SIGTTOU. Log is safe for concurrent use.
type Log struct {
	Verbosity int
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
	write(2, b)
}

// Stdout writes s to standard output as Log writes to standard error: for
// --help and --version, which a terminal set to "stty tostop" would
// otherwise answer the same way.
func Stdout(s string) { write(1, []byte(s)) }

func write(fd int, b []byte) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var pipe, block, old unix.Sigset_t
	pipe.Val[0] = 1 << (unix.SIGPIPE - 1)
	block.Val[0] = pipe.Val[0] | 1<<(unix.SIGTTOU-1)
	unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old)
	epipe := false
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		epipe = err == syscall.EPIPE
		if err != nil || n <= 0 {
			break
		}
		b = b[n:]
	}
	if epipe {
		// The kernel's SIGPIPE for the failed write is pending on this
		// thread only; a zero timeout takes it without waiting.
		var zero unix.Timespec
		syscall.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&pipe)), 0, uintptr(unsafe.Pointer(&zero)), unsafe.Sizeof(uint64(0)), 0, 0)
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
}

func itoa(n int) string { return strconv.Itoa(n) }

func signame(s syscall.Signal) string { return forward.Name(s) }
