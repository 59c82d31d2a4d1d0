package spawn

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscall.ForkExec needs a pipe to learn whether the exec worked, which
// takes two descriptors that a tight RLIMIT_NOFILE may not have (the C
// inits start their child at a limit of 4, with only descriptor 3 free).
// forkNoPipe starts the child without any: the child is a vfork(2) of
// initd that does not share its memory, so it can run this Go frame on its
// own copy of the stack while initd waits in clone, and it reports a
// failed exec through an anonymous shared page instead of a pipe. The
// runtime hooks are the ones syscall.ForkExec calls around its own fork;
// they block signals, keep the child from running the scheduler or growing
// its stack, and reset the child's signal handlers and mask before exec.
//
// It gives no pidfd and does not restore a soft RLIMIT_NOFILE that the
// runtime raised at start-up: it runs only when the limit left no room for
// a pipe, which means the soft limit was at most one below a hard limit of
// a few descriptors, and the supervisor works without a pidfd.
//
// It relies on the kernel suspending initd until the child has executed
// or exited. qemu-user runs CLONE_VFORK as a plain fork, so under it (a
// foreign release binary tried on the build machine) a failed exec can go
// unnoticed; the pipe of the normal path is not affected.

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// forkNoPipe starts path in a new process group, in the terminal's
// foreground when foreground is set, with descriptors 0, 1 and 2 and every
// other descriptor without close-on-exec.
func forkNoPipe(path string, argv, env []string, foreground bool) (int, syscall.Errno) {
	path0, err := syscall.BytePtrFromString(path)
	if err != nil {
		return 0, syscall.EINVAL
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return 0, syscall.EINVAL
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 0, syscall.EINVAL
	}
	// MmapPtr, not Mmap: the latter's bookkeeping of mappings costs 4 kB.
	size := uintptr(syscall.Getpagesize())
	page, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	defer unix.MunmapPtr(page, size)
	result := (*uintptr)(page)
	pid, errno := forkExecNoPipe(path0, &argvp[0], &envp[0], foreground, result)
	runtime.KeepAlive(argvp)
	runtime.KeepAlive(envp)
	if errno != 0 {
		return 0, errno
	}
	if e := atomic.LoadUintptr(result); e != 0 {
		// The child has exited; collect it here, as syscall.ForkExec does,
		// so no zombie of a failed attempt is left for the reaper.
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
				break
			}
		}
		return 0, syscall.Errno(e)
	}
	return pid, 0
}

// forkExecNoPipe is the fork itself. Between runtime_BeforeFork and the
// exec the child may only make raw system calls: no allocation, no stack
// growth (hence nosplit), no race instrumentation. Every variable is
// declared before the fork.
//
//go:norace
//go:nosplit
func forkExecNoPipe(path *byte, argv, envv **byte, foreground bool, result *uintptr) (pid int, errno syscall.Errno) {
	var (
		r1   uintptr
		err1 syscall.Errno
		pgrp int32
		fd   uintptr
	)
	flags := uintptr(syscall.CLONE_VFORK | syscall.SIGCHLD)

	runtime_BeforeFork()
	if runtime.GOARCH == "s390x" {
		// On s390x the first two arguments of clone(2) are swapped.
		r1, _, err1 = syscall.RawSyscall6(syscall.SYS_CLONE, 0, flags, 0, 0, 0, 0)
	} else {
		r1, _, err1 = syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	}
	if err1 != 0 || r1 != 0 {
		runtime_AfterFork()
		return int(r1), err1
	}

	// The child.
	if _, _, err1 = syscall.RawSyscall(syscall.SYS_SETPGID, 0, 0, 0); err1 != 0 {
		goto fail
	}
	if foreground {
		r1, _, _ = syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		pgrp = int32(r1)
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_IOCTL, 0, uintptr(syscall.TIOCSPGRP), uintptr(unsafe.Pointer(&pgrp))); err1 != 0 {
			goto fail
		}
	}
	// After TIOCSPGRP, as in syscall.ForkExec: with signals still blocked
	// the kernel's SIGTTOU for a background group cannot stop the child.
	runtime_AfterForkInChild()
	for fd = 0; fd < 3; fd++ {
		syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0)
	}
	_, _, err1 = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)), uintptr(unsafe.Pointer(envv)))
fail:
	*result = uintptr(err1)
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
