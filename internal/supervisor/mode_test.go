package supervisor

import (
	"testing"

	"github.com/initd/initd/internal/reaper"
)

// The reap mode is chosen without root: what was asked, -w, and whether the
// kernel can report the exit of a child it released.
func TestChooseMode(t *testing.T) {
	for _, tt := range []struct {
		asked     reaper.ReapMode
		warnReap  bool
		supported bool
		want      reaper.ReapMode
		ok        bool
	}{
		{reaper.Auto, false, true, reaper.Kernel, true},
		{reaper.Auto, false, false, reaper.Wait, true},
		{reaper.Auto, true, true, reaper.Wait, true}, // -w must see every zombie
		{reaper.Wait, false, true, reaper.Wait, true},
		{reaper.Kernel, false, true, reaper.Kernel, true},
		{reaper.Kernel, false, false, reaper.Kernel, false}, // a start-up error, never a silent fallback
		{reaper.Kernel, true, true, reaper.Kernel, true},
	} {
		got, ok := chooseMode(tt.asked, tt.warnReap, tt.supported)
		if got != tt.want || ok != tt.ok {
			t.Errorf("chooseMode(%v, -w %v, supported %v) = %v, %v; want %v, %v", tt.asked, tt.warnReap, tt.supported, got, ok, tt.want, tt.ok)
		}
	}
}
