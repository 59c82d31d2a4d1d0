package supervisor

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// target is the main child, where forwarded signals go.
//
// With a pidfd (Linux 5.3+) every signal goes through pidfd_send_signal,
// which reaches the process the pidfd was opened for or fails with ESRCH:
// never a process that reused its pid after the kernel released it. The
// group is signalled the same way with PIDFD_SIGNAL_PROCESS_GROUP (Linux
// 6.9+), which keeps working after the leader has exited for as long as
// the group has members. Without a pidfd, or where the kernel lacks the
// group flag, it falls back to kill(2), which is safe only while the
// caller has not reaped the child (the kernel keeps a pid from being reused
// while it is unreaped or names a live group).
type target struct {
	pid   int
	pidfd int // -1 when there is none

	noGroupFlag bool // the kernel refused PIDFD_SIGNAL_PROCESS_GROUP
}

// sendChildGroup delivers sig to the child's process group. When the group
// is empty because the child moved into another one, the child alone gets
// the signal rather than nobody. Only while the child is unreaped.
func (t *target) sendChildGroup(sig syscall.Signal) error {
	err := t.sendGroup(sig)
	if err == syscall.ESRCH {
		if err := t.sendChild(sig); err == nil {
			return nil
		}
	}
	return err
}

// sendGroup delivers sig to the process group the child leads, whether or
// not the child itself is still alive.
func (t *target) sendGroup(sig syscall.Signal) error {
	if t.pidfd >= 0 && !t.noGroupFlag {
		err := unix.PidfdSendSignal(t.pidfd, unix.Signal(sig), nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
		if err != syscall.EINVAL {
			return err
		}
		t.noGroupFlag = true // before Linux 6.9
	}
	return syscall.Kill(-t.pid, sig)
}

func (t *target) sendChild(sig syscall.Signal) error {
	if t.pidfd >= 0 {
		return unix.PidfdSendSignal(t.pidfd, unix.Signal(sig), nil, 0)
	}
	return syscall.Kill(t.pid, sig)
}
