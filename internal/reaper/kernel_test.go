package reaper

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Kernel mode loses the main child's status on a kernel that cannot
// report the exit of a child it released, so the decision errs towards
// Wait whenever the kernel does not say, or its release does not promise,
// PIDFD_INFO_EXIT.
func TestKernelReapDecision(t *testing.T) {
	for _, tt := range []struct {
		name            string
		err             error
		mask, supported uint64
		release         string
		want            bool
	}{
		{"no PIDFD_GET_INFO (before 6.13)", syscall.ENOTTY, 0, 0, "6.12.9", false},
		{"no PIDFD_GET_INFO, release too new to be true", syscall.EINVAL, 0, 0, "6.20.0", false},
		{"6.13, no supported mask", nil, 0x7, 0, "6.13.0", false},
		{"6.14", nil, 0x7, 0, "6.14.11-arch1", false},
		{"6.15", nil, 0x7, 0, "6.15.0", true},
		{"6.18 with a vendor suffix", nil, 0x7, 0, "6.18.44-fc-v669", true},
		{"7.0", nil, 0x7, 0, "7.0.1", true},
		{"a supported mask with EXIT", nil, 0x7 | pidfdInfoSupportedMask, 0x3f, "6.19.0", true},
		{"a supported mask without EXIT beats the release", nil, 0x7 | pidfdInfoSupportedMask, 0x7, "6.19.0", false},
		{"unparsable release", nil, 0x7, 0, "linux", false},
		{"release without a minor", nil, 0x7, 0, "7", false},
	} {
		if got := kernelReapDecision(tt.err, tt.mask, tt.supported, tt.release); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// On this machine's kernel the probe and the facts must agree: where the
// probe says yes, a released child's status really is reported.
func TestKernelReapSupportedIsTrue(t *testing.T) {
	if !KernelReapSupported() {
		t.Skip("this kernel has no PIDFD_INFO_EXIT: wait mode only")
	}
	pidfd := -1
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 42"}, &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{PidFD: &pidfd}})
	if err != nil {
		t.Skipf("cannot start /bin/sh: %v", err)
	}
	defer unix.Close(pidfd)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Reaped by us rather than released by the kernel: the pidfd still
	// reports the status, as ExitOf relies on.
	got, ok := ExitOf(pid, pidfd)
	if !ok || got.ExitStatus() != 42 {
		t.Errorf("ExitOf = %#x, %v; want exit 42", uint32(got), ok)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]ReapMode{"auto": Auto, "kernel": Kernel, "wait": Wait} {
		if got, ok := ParseMode(in); !ok || got != want || got.String() != in {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseMode("Kernel"); ok {
		t.Error("ParseMode is case-sensitive, like every other value")
	}
}
