package spawn

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscall.ForkExec runs no code of initd's between fork and exec, and it
// needs a pipe to learn whether the exec worked, which takes two
// descriptors that a tight RLIMIT_NOFILE may not have (the C inits start
// their child at a limit of 4, with only descriptor 3 free). forkRaw does
// both without: the child is a vfork(2) of initd that does not share its
// memory, so it can run this Go frame on its own copy of the stack while
// initd waits in clone, and it reports what failed through an anonymous
// shared page instead of a pipe. The runtime hooks are the ones
// syscall.ForkExec calls around its own fork; they block signals, keep the
// child from running the scheduler or growing its stack, and reset the
// child's signal handlers and mask before exec.
//
// Socket activation needs the code in the child: LISTEN_PID must hold the
// child's own pid, which exists only after the fork, and only an exec in
// that same process keeps it. So the child writes its pid into an
// environment entry made for it, and searches PATH itself, trying the
// candidates the parent listed in order and going on after the same
// errors as search; the parent replays the search over the errnos the
// child recorded, for the same message and status. The ids of --user are
// set there too, each step recorded so that a failure names its call.
//
// Its pidfd (CLONE_PIDFD) is optional. A soft RLIMIT_NOFILE that the
// runtime raised at start-up is not restored: the low-limit case runs
// only when the limit left no room for a pipe, which means the soft limit
// was at most one below a hard limit of a few descriptors.
//
// It relies on the kernel suspending initd until the child has executed
// or exited. qemu-user runs CLONE_VFORK as a plain fork, so under it (a
// foreign release binary tried on the build machine) a failed exec at a
// low limit or under socket activation can go unnoticed; the pipe of the
// normal path is not affected.

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// The child's steps, in its order; a failure reports which.
const (
	stepNone       = iota // the command runs
	stepSetpgid           // a process group of its own
	stepForeground        // the terminal's foreground
	stepSetgroups
	stepSetgid
	stepSetuid
	stepExec // no candidate could be executed
)

// stepCall names the system call of each step that sets an id.
var stepCall = [...]string{stepSetgroups: "setgroups", stepSetgid: "setgid", stepSetuid: "setuid"}

// rawChild is the child of a raw fork.
type rawChild struct {
	paths      []string // the candidates, in order
	argv, env  []string
	listenPid  int // index in env of a LISTEN_PID entry to set to the child's pid, or -1
	foreground bool
	cred       *syscall.Credential // nil: initd's own ids
	pidfd      bool                // ask for a pidfd
}

// rawResult is how a raw fork went.
type rawResult struct {
	pid, pidfd int // pidfd is -1 without one
	step       int // stepNone, or the step that failed
	// errno is the failed step's; with stepExec, tried holds what execve
	// gave for each candidate tried, in order.
	errno syscall.Errno
	tried []syscall.Errno
}

// credFailed reports whether a step that sets an id failed.
func (r *rawResult) credFailed() bool { return r.step >= stepSetgroups && r.step <= stepSetuid }

// credArgs is a credential as the child's system calls take it.
type credArgs struct {
	groups   unsafe.Pointer
	ngroups  uintptr
	uid, gid uintptr
}

// The shared page: the failed step, its errno, the number of candidates
// tried, then what execve gave for each.
const (
	pageStep = iota
	pageErrno
	pageTried
	pageHead
)

// forkRaw starts c in a new process group, in the terminal's foreground
// when c.foreground is set, with descriptors 0, 1 and 2 and every other
// descriptor without close-on-exec. The errno is clone's own; a child that
// failed is collected before forkRaw returns.
func forkRaw(c *rawChild) (rawResult, syscall.Errno) {
	res := rawResult{pidfd: -1}
	paths, err := syscall.SlicePtrFromStrings(c.paths)
	if err != nil {
		return res, syscall.EINVAL
	}
	argvp, err := syscall.SlicePtrFromStrings(c.argv)
	if err != nil {
		return res, syscall.EINVAL
	}
	envp, err := syscall.SlicePtrFromStrings(c.env)
	if err != nil {
		return res, syscall.EINVAL
	}
	// The child writes its pid after "LISTEN_PID=" in a buffer with room
	// for any pid and the NUL, as it may not allocate.
	var listenPid *byte
	if c.listenPid >= 0 {
		buf := make([]byte, len("LISTEN_PID=")+21)
		copy(buf, "LISTEN_PID=")
		envp[c.listenPid] = &buf[0]
		listenPid = &buf[len("LISTEN_PID=")]
	}
	var cred *credArgs
	if c.cred != nil {
		cred = &credArgs{ngroups: uintptr(len(c.cred.Groups)), uid: uintptr(c.cred.Uid), gid: uintptr(c.cred.Gid)}
		if len(c.cred.Groups) > 0 {
			cred.groups = unsafe.Pointer(&c.cred.Groups[0])
		}
	}
	flags := uintptr(syscall.CLONE_VFORK | syscall.SIGCHLD)
	pidfd := int32(-1)
	if c.pidfd {
		flags |= unix.CLONE_PIDFD
	}

	// MmapPtr, not Mmap: the latter's bookkeeping of mappings costs 4 kB.
	ptr := unsafe.Sizeof(uintptr(0))
	size := (uintptr(pageHead+len(c.paths))*ptr + 4095) &^ 4095
	page, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return res, err.(syscall.Errno)
	}
	defer unix.MunmapPtr(page, size)
	pid, errno := forkExecRaw(&paths[0], len(c.paths), &argvp[0], &envp[0], listenPid, c.foreground, cred, flags, &pidfd, (*uintptr)(page))
	runtime.KeepAlive(paths)
	runtime.KeepAlive(argvp)
	runtime.KeepAlive(envp)
	runtime.KeepAlive(c.cred)
	if errno != 0 {
		return res, errno
	}
	word := func(i int) uintptr { return atomic.LoadUintptr((*uintptr)(unsafe.Add(page, uintptr(i)*ptr))) }
	res.pid, res.pidfd = pid, int(pidfd)
	if res.step = int(word(pageStep)); res.step == stepNone {
		return res, 0
	}
	// The child has exited; collect it here, as syscall.ForkExec does, so
	// no zombie of a failed attempt is left for the reaper.
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	if res.pidfd >= 0 {
		syscall.Close(res.pidfd)
	}
	res.pid, res.pidfd = 0, -1
	res.errno = syscall.Errno(word(pageErrno))
	for i := range int(word(pageTried)) {
		res.tried = append(res.tried, syscall.Errno(word(pageHead+i)))
	}
	return res, 0
}

// forkExecRaw is the fork itself. Between runtime_BeforeFork and the exec
// the child may only make raw system calls: no allocation, no stack
// growth (hence nosplit), no race instrumentation, no calls but to
// nosplit assembly. Every variable is declared before the fork.
//
//go:norace
//go:nosplit
func forkExecRaw(paths **byte, npaths int, argv, envv **byte, listenPid *byte, foreground bool, cred *credArgs, flags uintptr, pidfd *int32, page *uintptr) (pid int, errno syscall.Errno) {
	var (
		r1   uintptr
		err1 syscall.Errno
		pgrp int32
		fd   uintptr
		i, n int
		step uintptr
		path *byte
	)
	ptr := unsafe.Sizeof(uintptr(0))
	out := unsafe.Pointer(page)

	runtime_BeforeFork()
	if runtime.GOARCH == "s390x" {
		// On s390x the first two arguments of clone(2) are swapped.
		r1, _, err1 = syscall.RawSyscall6(syscall.SYS_CLONE, 0, flags, uintptr(unsafe.Pointer(pidfd)), 0, 0, 0)
	} else {
		r1, _, err1 = syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, uintptr(unsafe.Pointer(pidfd)), 0, 0, 0)
	}
	if err1 != 0 || r1 != 0 {
		runtime_AfterFork()
		return int(r1), err1
	}

	// The child.
	step = stepSetpgid
	if _, _, err1 = syscall.RawSyscall(syscall.SYS_SETPGID, 0, 0, 0); err1 != 0 {
		goto fail
	}
	if foreground {
		step = stepForeground
		r1, _, _ = syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		pgrp = int32(r1)
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_IOCTL, 0, uintptr(syscall.TIOCSPGRP), uintptr(unsafe.Pointer(&pgrp))); err1 != 0 {
			goto fail
		}
	}
	// After TIOCSPGRP, as in syscall.ForkExec: with signals still blocked
	// the kernel's SIGTTOU for a background group cannot stop the child.
	runtime_AfterForkInChild()
	if cred != nil {
		// In this order: dropping the uid first would leave no right to
		// change the groups.
		step = stepSetgroups
		if _, _, err1 = syscall.RawSyscall(sysSetgroups, cred.ngroups, uintptr(cred.groups), 0); err1 != 0 {
			goto fail
		}
		step = stepSetgid
		if _, _, err1 = syscall.RawSyscall(sysSetgid, cred.gid, 0, 0); err1 != 0 {
			goto fail
		}
		step = stepSetuid
		if _, _, err1 = syscall.RawSyscall(sysSetuid, cred.uid, 0, 0); err1 != 0 {
			goto fail
		}
	}
	for fd = 0; fd < 3; fd++ {
		syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0)
	}
	if listenPid != nil {
		r1, _, _ = syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		n = 1
		for v := r1; v >= 10; v /= 10 {
			n++
		}
		for i = n - 1; i >= 0; i-- {
			*(*byte)(unsafe.Add(unsafe.Pointer(listenPid), i)) = byte('0' + r1%10)
			r1 /= 10
		}
		*(*byte)(unsafe.Add(unsafe.Pointer(listenPid), n)) = 0
	}
	step = stepExec
	for i = 0; i < npaths; i++ {
		path = *(**byte)(unsafe.Add(unsafe.Pointer(paths), uintptr(i)*ptr))
		_, _, err1 = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)), uintptr(unsafe.Pointer(envv)))
		*(*uintptr)(unsafe.Add(out, uintptr(pageHead+i)*ptr)) = uintptr(err1)
		*(*uintptr)(unsafe.Add(out, pageTried*ptr)) = uintptr(i + 1)
		// The errors after which search goes on: no usable file here.
		switch err1 {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ESTALE, syscall.ENODEV, syscall.ETIMEDOUT, syscall.EACCES, syscall.ENAMETOOLONG:
			continue
		}
		break
	}
fail:
	*(*uintptr)(unsafe.Add(out, pageErrno*ptr)) = uintptr(err1)
	// Last: the parent takes a non-zero step for a child that failed.
	*(*uintptr)(unsafe.Add(out, pageStep*ptr)) = step
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
