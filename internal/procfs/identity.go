package procfs

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// isLocal reports whether the entry outer of an ancestor's /proc is the
// process that initd's system calls name local. The pidfd check needs no
// ptrace access and so sees every user's processes; the namespace link,
// for kernels without pidfds, is readable only with ptrace access.
func isLocal(outer, local int, dir, ns string, buf []byte) bool {
	if got, ok := outerPid(local, buf); ok {
		return got == outer
	}
	link, err := readlink(dir + "/ns/pid")
	return err == nil && link == ns
}

// outerPid returns the pid, in the namespace of the /proc mount, of the
// process that initd's system calls name local: the "Pid:" line of a
// pidfd's fdinfo is in the namespace of the /proc it is read through, and
// a pidfd of any process may be opened and read without privilege. It
// returns -1 when local names no process (or a thread, which /proc does
// not list on its own), and ok false when the kernel cannot say.
func outerPid(local int, buf []byte) (pid int, ok bool) {
	fd, err := unix.PidfdOpen(local, 0)
	switch err {
	case nil:
	case unix.ESRCH, unix.EINVAL:
		return -1, true
	default: // ENOSYS before Linux 5.3, or out of descriptors
		return 0, false
	}
	defer unix.Close(fd)
	info, err := unix.Open("/proc/self/fdinfo/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	n, _ := unix.Read(info, buf)
	unix.Close(info)
	return fdinfoPid(buf[:max(n, 0)])
}

// fdinfoPid parses the "Pid:" line of a pidfd's fdinfo: -1 once the
// process has exited, 0 when it is outside /proc's namespace.
func fdinfoPid(b []byte) (int, bool) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("Pid:")); ok {
			pid, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			return pid, err == nil
		}
	}
	return 0, false
}
