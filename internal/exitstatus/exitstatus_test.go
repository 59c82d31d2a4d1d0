package exitstatus

import (
	"syscall"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		ws   syscall.WaitStatus
		want int
	}{
		{0 << 8, 0},
		{1 << 8, 1},
		{42 << 8, 42},
		{255 << 8, 255},
		{syscall.WaitStatus(syscall.SIGTERM), 143},
		{syscall.WaitStatus(syscall.SIGKILL), 137},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, 139}, // core dumped
		{syscall.WaitStatus(64), 192},
	} {
		if got := Of(tt.ws); got != tt.want {
			t.Errorf("Of(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestRemap(t *testing.T) {
	var r Remap
	r.Set(143, 0)
	r.Set(2, 3)
	for in, want := range map[int]int{143: 0, 2: 3, 1: 1, 0: 0, 255: 255, 256: 256, -1: -1} {
		if got := r.Apply(in); got != want {
			t.Errorf("Apply(%d) = %d, want %d", in, got, want)
		}
	}
}
