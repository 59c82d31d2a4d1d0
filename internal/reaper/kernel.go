package reaper

import (
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReapMode is how initd learns that its children exited.
type ReapMode uint8

const (
	Auto   ReapMode = iota // Kernel where the kernel supports it, else Wait
	Kernel                 // the kernel releases children; a pidfd reports the main one
	Wait                   // SIGCHLD and a wait4 loop
)

// ParseMode reads "auto", "kernel" or "wait".
func ParseMode(s string) (ReapMode, bool) {
	switch s {
	case "auto":
		return Auto, true
	case "kernel":
		return Kernel, true
	case "wait":
		return Wait, true
	}
	return 0, false
}

func (m ReapMode) String() string {
	return [...]string{"auto", "kernel", "wait"}[m]
}

// pidfdInfoSupportedMask asks the kernel which PIDFD_INFO_ fields it knows
// (Linux 6.19+; x/sys does not name it yet).
const pidfdInfoSupportedMask = 1 << 5

// KernelReapSupported reports whether the running kernel can report the
// exit status of a child it released, which Kernel mode depends on: a
// kernel that cannot would lose the main child's status.
func KernelReapSupported() bool {
	fd, err := unix.PidfdOpen(unix.Getpid(), 0)
	if err != nil {
		return false // no pidfds at all (before Linux 5.3, or seccomp)
	}
	defer unix.Close(fd)
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_PID | pidfdInfoSupportedMask}
	err = unix.IoctlPidfdInfo(fd, &info)
	var uts unix.Utsname
	unix.Uname(&uts)
	return kernelReapDecision(err, info.Mask, info.Supported_mask, unix.ByteSliceToString(uts.Release[:]))
}

// kernelReapDecision decides from what the kernel said. A kernel that
// reports its supported fields is believed. One that does not (Linux 6.13
// to 6.18) cannot be asked whether it has PIDFD_INFO_EXIT, and a running
// process never shows that field, so the release decides: PIDFD_INFO_EXIT
// came in 6.15. A release that claims more than it has is the one way to
// be wrong here; a kernel that hides what it has just gets Wait.
func kernelReapDecision(infoErr error, mask, supported uint64, release string) bool {
	if infoErr != nil {
		return false // no PIDFD_GET_INFO (before Linux 6.13)
	}
	if mask&pidfdInfoSupportedMask != 0 {
		return supported&unix.PIDFD_INFO_EXIT != 0
	}
	return atLeast(release, 6, 15)
}

// atLeast reports whether a kernel release such as "6.18.4-foo" is at
// least major.minor.
func atLeast(release string, major, minor int) bool {
	a, rest, _ := strings.Cut(release, ".")
	b, _, _ := strings.Cut(rest, ".")
	b = strings.TrimRightFunc(b, func(r rune) bool { return r < '0' || r > '9' })
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// sigaction is the kernel's struct sigaction for rt_sigaction where the
// architecture has SA_RESTORER (amd64, arm64, 386, arm): handler, flags,
// restorer, mask. Where it has no restorer field (riscv64) the kernel reads
// the mask from restorer's place, which is 0 too for SIG_IGN, and the saved
// action is written back byte for byte either way.
type sigaction struct {
	handler  uintptr
	flags    uintptr
	restorer uintptr
	mask     uint64
}

// ChildSignal is the SIGCHLD action saved by IgnoreChildren.
type ChildSignal struct {
	old   sigaction
	saved bool
}

// IgnoreChildren sets SIGCHLD to SIG_IGN, so that the kernel releases
// every child at exit, and saves the action it replaces for Restore.
func IgnoreChildren() (*ChildSignal, error) {
	c := &ChildSignal{}
	ign := sigaction{handler: 1} // SIG_IGN
	if err := rtSigaction(syscall.SIGCHLD, &ign, &c.old); err != nil {
		return nil, err
	}
	c.saved = true
	return c, nil
}

// Restore puts back the SIGCHLD action that IgnoreChildren replaced. From
// then on exited children stay zombies until Reap collects them; those
// that exited before were released by the kernel.
func (c *ChildSignal) Restore() error {
	if !c.saved {
		return nil
	}
	c.saved = false
	return rtSigaction(syscall.SIGCHLD, &c.old, nil)
}

func rtSigaction(sig syscall.Signal, act, old *sigaction) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// ExitOf returns the wait status of the child that pidfd refers to, which
// has exited: by reaping it if it is still a zombie (it exited before
// IgnoreChildren), or from PIDFD_INFO_EXIT once the kernel released it.
//
// The pidfd turns readable when the child has exited, a moment before the
// kernel releases it and records PIDFD_INFO_EXIT (seen on Linux 6.18 with
// a multi-threaded child): in between neither wait4 nor the ioctl has the
// status, so ExitOf polls, briefly, until one does. ok is false if neither
// ever does, which KernelReapSupported rules out.
func ExitOf(pid, pidfd int) (ws syscall.WaitStatus, ok bool) {
	pause := 10 * time.Microsecond
	for waited := time.Duration(0); waited < time.Second; waited += pause {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && got == pid {
			return ws, true
		}
		info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_EXIT}
		if unix.IoctlPidfdInfo(pidfd, &info) == nil && info.Mask&unix.PIDFD_INFO_EXIT != 0 {
			return syscall.WaitStatus(info.Exit_code), true
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
	return 0, false
}
