package forward

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Target is the main child, where forwarded signals go.
//
// With a pidfd (Linux 5.3+) every signal goes through pidfd_send_signal,
// which reaches the process the pidfd was opened for or fails with ESRCH:
// never a process that reused its pid after the kernel released it. The
// group is signalled the same way with PIDFD_SIGNAL_PROCESS_GROUP (Linux
// 6.9+), which keeps working after the leader has exited for as long as
// the group has members. Without a pidfd, or where the kernel lacks the
// group flag, Send falls back to kill(2), which is safe only while the
// caller has not reaped the child (the kernel keeps a pid from being reused
// while it is unreaped or names a live group).
type Target struct {
	Pid   int
	Pidfd int // -1 when there is none
	// Group sends to the child's whole process group rather than the child.
	Group bool

	noGroupFlag bool // the kernel refused PIDFD_SIGNAL_PROCESS_GROUP
}

// Send delivers sig to the child or, with Group, to its process group.
// When the group is empty because the child moved into another one, the
// child alone gets the signal rather than nobody.
func (t *Target) Send(sig syscall.Signal) error {
	if !t.Group {
		return t.sendChild(sig)
	}
	err := t.SendGroup(sig)
	if err == syscall.ESRCH {
		if err := t.sendChild(sig); err == nil {
			return nil
		}
	}
	return err
}

// SendGroup delivers sig to the process group the child leads, whether or
// not the child itself is still alive.
func (t *Target) SendGroup(sig syscall.Signal) error {
	if t.Pidfd >= 0 && !t.noGroupFlag {
		err := unix.PidfdSendSignal(t.Pidfd, unix.Signal(sig), nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
		if err != syscall.EINVAL {
			return err
		}
		t.noGroupFlag = true // before Linux 6.9
	}
	return syscall.Kill(-t.Pid, sig)
}

func (t *Target) sendChild(sig syscall.Signal) error {
	if t.Pidfd >= 0 {
		return unix.PidfdSendSignal(t.Pidfd, unix.Signal(sig), nil, 0)
	}
	return syscall.Kill(t.Pid, sig)
}
