package spawn

import (
	"bytes"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/procfs"
)

// Environ returns the environment initd was started with, exactly: every
// entry in its order, duplicates and entries without '=' included.
// os.Environ keeps only the first of two entries with one name, so it is
// only the fallback for when /proc/self/environ cannot be read.
func Environ() []string {
	b, ok := readFile("/proc/self/environ")
	if !ok {
		return os.Environ()
	}
	return splitEnviron(b)
}

// splitEnviron splits the NUL-terminated entries of /proc/PID/environ.
func splitEnviron(b []byte) []string {
	env := []string{}
	for len(b) > 0 {
		kv, rest, _ := bytes.Cut(b, []byte{0})
		env = append(env, string(kv))
		b = rest
	}
	return env
}

// readFile reads a whole file with raw system calls, as package procfs
// does: os.ReadFile would start the netpoller for nothing.
func readFile(path string) ([]byte, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 4096)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n == 0 {
			return b, true
		}
		b = b[:len(b)+n]
	}
}

// InheritedFDs lists descriptors 3 and up that initd was given without
// close-on-exec. They are meant for the child, which inherits them across
// exec; initd closes its own copies once the child runs. The Go runtime's
// own descriptors are all close-on-exec and are never listed.
func InheritedFDs() []int {
	var fds []int
	check := func(fd int) {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	if open, dirfd, err := procfs.Numbers("/proc/self/fd"); err == nil {
		for _, fd := range open {
			if fd > 2 && fd != dirfd {
				check(fd)
			}
		}
		return fds
	}
	for _, fd := range probeOpen(3, softNofile()) {
		check(fd)
	}
	return fds
}

// softNofile is the soft RLIMIT_NOFILE, which the runtime raised to one
// below the hard limit at start-up. No descriptor can be open at or above
// the hard limit unless a parent with a higher one passed it down; those
// are not found without /proc.
func softNofile() int {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return 1024
	}
	return int(min(lim.Cur, 1<<30))
}

// probeOpen lists the open descriptors from lo up to hi without /proc
// (and perhaps some closed ones, if poll fails).
// poll(2) marks each closed descriptor POLLNVAL, so one call answers for a
// block of them; a fcntl per descriptor would take a system call each, a
// million of them under a common container limit.
func probeOpen(lo, hi int) []int {
	const block = 1024
	var open []int
	pfd := make([]unix.PollFd, block)
	for start := lo; start < hi; start += block {
		n := min(block, hi-start)
		for i := range pfd[:n] {
			pfd[i] = unix.PollFd{Fd: int32(start + i)}
		}
		var err error
		for {
			if _, err = unix.Poll(pfd[:n], 0); err != unix.EINTR {
				break
			}
		}
		for i := range pfd[:n] {
			// If poll failed, every descriptor of the block is a
			// candidate; the caller's fcntl tells the open ones.
			if err != nil || pfd[i].Revents&unix.POLLNVAL == 0 {
				open = append(open, start+i)
			}
		}
	}
	return open
}
