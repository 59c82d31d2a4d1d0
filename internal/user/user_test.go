package user

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	passwd = `root:x:0:0:root:/root:/bin/bash
# a comment, and a blank line

app:x:1000:1000:App:/home/app:/bin/sh
nohome:x:1001:1001:::/bin/sh
1002:x:2002:2002::/home/digits:/bin/sh
app:x:3000:3000:a second app, never used:/x:/bin/sh
`
	group = `root:x:0:
staff:x:50:app,other
app:x:1000:
audio:x:29:other,app
dup:x:1000:app
4000:x:4001:
wheel:x:10:appx,xapp
`
)

// files serves the two files from strings; a missing key is a missing
// file.
func files(m map[string]string) func(string, int) ([][]string, error) {
	return func(path string, n int) ([][]string, error) {
		dir, err := os.MkdirTemp("", "user")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, filepath.Base(path))
		if s, ok := m[path]; ok {
			os.WriteFile(p, []byte(s), 0o644)
		}
		entries, err := load(p, n)
		if err != nil {
			// The message names the real path, not the temporary one.
			err = errorString(strings.ReplaceAll(err.Error(), p, path))
		}
		return entries, err
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestResolve(t *testing.T) {
	both := map[string]string{"/etc/passwd": passwd, "/etc/group": group}
	for _, tt := range []struct {
		spec   string
		files  map[string]string
		uid    uint32
		gid    uint32
		groups []uint32
		home   string
	}{
		// A name: its gid first, then every group listing it, once.
		{"app", both, 1000, 1000, []uint32{1000, 50, 29}, "/home/app"},
		// A uid with an entry is that entry; the first entry wins.
		{"1000", both, 1000, 1000, []uint32{1000, 50, 29}, "/home/app"},
		{"root", both, 0, 0, []uint32{0}, "/root"},
		{"0", both, 0, 0, []uint32{0}, "/root"},
		// A name of digits is a uid, never a name.
		{"1002", both, 1002, 7, nil, "/"},
		// A uid without an entry: initd's gid, no groups, home /.
		{"4242", both, 4242, 7, nil, "/"},
		{"4242", nil, 4242, 7, nil, "/"},
		// A group replaces the user's gid and groups.
		{"app:staff", both, 1000, 50, []uint32{50}, "/home/app"},
		{"app:50", both, 1000, 50, []uint32{50}, "/home/app"},
		{"1000:1000", both, 1000, 1000, []uint32{1000}, "/home/app"},
		{"4242:4343", nil, 4242, 4343, []uint32{4343}, "/"},
		{"4242:staff", both, 4242, 50, []uint32{50}, "/"},
		// A group name of digits is a gid, never a name.
		{"app:4000", both, 1000, 4000, []uint32{4000}, "/home/app"},
		// An empty home is /.
		{"nohome", both, 1001, 1001, []uint32{1001}, "/"},
		// No /etc/group: no memberships.
		{"app", map[string]string{"/etc/passwd": passwd}, 1000, 1000, []uint32{1000}, "/home/app"},
		// A malformed group file is not read for numbers alone.
		{"1000:1000", map[string]string{"/etc/passwd": passwd, "/etc/group": "junk\n"}, 1000, 1000, []uint32{1000}, "/home/app"},
	} {
		id, err := resolve(tt.spec, files(tt.files), 7)
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if id.Uid != tt.uid || id.Gid != tt.gid || !slices.Equal(id.Groups, tt.groups) || id.Home != tt.home || id.Spec != tt.spec {
			t.Errorf("%q: uid %d gid %d groups %v home %q spec %q; want %d %d %v %q", tt.spec, id.Uid, id.Gid, id.Groups, id.Home, id.Spec, tt.uid, tt.gid, tt.groups, tt.home)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	both := map[string]string{"/etc/passwd": passwd, "/etc/group": group}
	for _, tt := range []struct {
		spec  string
		files map[string]string
		want  string
	}{
		{"nosuch", both, "no such user in /etc/passwd"},
		{"nosuch", nil, "no such user in /etc/passwd"},
		{"app:nosuch", both, `no group "nosuch" in /etc/group`},
		{"app:staff", map[string]string{"/etc/passwd": passwd}, `no group "staff" in /etc/group`},
		{"-1", both, "no such user in /etc/passwd"},
		{"4294967295", both, "no such user in /etc/passwd"},
		{"app:4294967295", both, `no group "4294967295" in /etc/group`},
		{"", both, `want USER or USER:GROUP, got ""`},
		{":staff", both, `want USER or USER:GROUP, got ":staff"`},
		{"app:", both, `want USER or USER:GROUP, got "app:"`},
		{"app:a:b", both, `want USER or USER:GROUP, got "app:a:b"`},
		// Malformed lines: too few fields, too many, an id that is not one.
		{"app", map[string]string{"/etc/passwd": "app:x:1000:1000:/home/app:/bin/sh\n"}, `/etc/passwd line 1 is malformed: "app:x:1000:1000:/home/app:/bin/sh"`},
		{"1000", map[string]string{"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh:x\n"}, `/etc/passwd line 2 is malformed: "app:x:1000:1000::/:/bin/sh:x"`},
		{"app", map[string]string{"/etc/passwd": "app:x:one:1000::/:/bin/sh\n"}, `/etc/passwd line 1 is malformed: "app:x:one:1000::/:/bin/sh"`},
		{"app", map[string]string{"/etc/passwd": "app:x:1000:-1::/:/bin/sh\n"}, `/etc/passwd line 1 is malformed: "app:x:1000:-1::/:/bin/sh"`},
		// Even after the entry: it might be one an earlier tool meant.
		{"app", map[string]string{"/etc/passwd": passwd + "+::::::\n"}, `/etc/passwd line 8 is malformed: "+::::::"`},
		{"app", map[string]string{"/etc/passwd": passwd, "/etc/group": "staff:x:50\n"}, `/etc/group line 1 is malformed: "staff:x:50"`},
		{"app:staff", map[string]string{"/etc/passwd": passwd, "/etc/group": "staff:x:fifty:\n"}, `/etc/group line 1 is malformed: "staff:x:fifty:"`},
	} {
		id, err := resolve(tt.spec, files(tt.files), 7)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: %+v, %v; want the error %q", tt.spec, id, err, tt.want)
		}
	}
}

// A file that exists but cannot be read is an error, not an empty file.
func TestLoadUnreadable(t *testing.T) {
	if _, err := load(t.TempDir(), 7); err == nil || !strings.HasPrefix(err.Error(), "cannot read ") {
		t.Errorf("a directory as /etc/passwd: %v, want \"cannot read ...\"", err)
	}
	if e, err := load(filepath.Join(t.TempDir(), "none"), 7); e != nil || err != nil {
		t.Errorf("a missing file: %v, %v; want no entries and no error", e, err)
	}
}

// Resolve reads the real files and names the user in its errors.
func TestResolveNames(t *testing.T) {
	_, err := Resolve("no-such-user-here")
	if err == nil || err.Error() != `user "no-such-user-here": no such user in /etc/passwd` {
		t.Errorf("Resolve: %v", err)
	}
	id, err := Resolve("0:0")
	if err != nil || id.Uid != 0 || id.Gid != 0 || !slices.Equal(id.Groups, []uint32{0}) {
		t.Errorf("Resolve(0:0) = %+v, %v", id, err)
	}
	id, err = Resolve("4242")
	if err == nil && id.Gid != uint32(unix.Getgid()) {
		t.Errorf("Resolve(4242): gid %d, want initd's own %d", id.Gid, unix.Getgid())
	}
}

func TestEnviron(t *testing.T) {
	id := &ID{Home: "/home/app"}
	for _, tt := range []struct {
		env, want []string
	}{
		{nil, []string{"HOME=/home/app"}},
		{[]string{"A=1"}, []string{"A=1", "HOME=/home/app"}},
		{[]string{"HOME=/root", "A=1"}, []string{"HOME=/root", "A=1"}},
		// The first HOME is the one getenv finds: empty, it is replaced.
		{[]string{"A=1", "HOME=", "HOME=/x"}, []string{"A=1", "HOME=/home/app", "HOME=/x"}},
		{[]string{"HOME=/x", "HOME="}, []string{"HOME=/x", "HOME="}},
		{[]string{"HOMEDIR=/x", "HOME"}, []string{"HOMEDIR=/x", "HOME", "HOME=/home/app"}},
	} {
		in := slices.Clone(tt.env)
		if got := id.Environ(in); !slices.Equal(got, tt.want) {
			t.Errorf("Environ(%q) = %q, want %q", tt.env, got, tt.want)
		}
		if !slices.Equal(in, tt.env) {
			t.Errorf("Environ(%q) changed its argument to %q", tt.env, in)
		}
	}
}
