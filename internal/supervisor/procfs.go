package supervisor

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid, pgrp int
}

// processes lists the processes in /proc. ok is false when /proc is missing
// or belongs to another PID namespace (a container started with a new PID
// namespace but the host's /proc): its pids would then not be initd's, and
// signalling them could hit processes outside initd's tree.
func processes(self int) (ps []proc, ok bool) {
	if link, err := readlink("/proc/self"); err != nil || link != strconv.Itoa(self) {
		return nil, false
	}
	d, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(d)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(d, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	stat := make([]byte, 512)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		if p, ok := readStat(pid, stat); ok {
			ps = append(ps, p)
		}
	}
	return ps, true
}

// readStat parses ppid and pgrp from /proc/PID/stat. The command name may
// contain spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int, buf []byte) (proc, bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return proc{}, false // exited meanwhile
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return proc{}, false
	}
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, false
	}
	// After ')': state ppid pgrp ...
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 {
		return proc{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return proc{}, false
	}
	return proc{pid, ppid, pgrp}, true
}

func readlink(path string) (string, error) {
	buf := make([]byte, 64)
	n, err := unix.Readlink(path, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
