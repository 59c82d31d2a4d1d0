package initd

import "testing"

func TestAsyncPreemptOff(t *testing.T) {
	defer func(s string) { linkedGodebug = s }(linkedGodebug)
	for _, tt := range []struct {
		linked, env string
		want        bool
	}{
		{"", "", false},
		{"", "asyncpreemptoff=1", true},
		{"asyncpreemptoff=1", "", true},
		{"asyncpreemptoff=1", "asyncpreemptoff=0", false},
		{"asyncpreemptoff=1", "gctrace=1, asyncpreemptoff=0,madvdontneed=1", false},
		{"asyncpreemptoff=1", "asyncpreemptoff=0,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1", "asyncpreemptoff=x", true}, // the runtime ignores what it cannot parse
		{"asyncpreemptoff=0", "", false},
	} {
		linkedGodebug = tt.linked
		if got := AsyncPreemptOff(tt.env); got != tt.want {
			t.Errorf("linked %q, GODEBUG %q: %v, want %v", tt.linked, tt.env, got, tt.want)
		}
	}
}
