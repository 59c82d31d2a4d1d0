package main

// The man page (initd.1 at the repository root) is written by hand, so these
// tests keep it honest: its options, environment variables and exit
// statuses must be exactly those that the built binary's --help lists,
// compared both ways, and it must render without warnings.

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const manPage = "../../initd.1"

// manHelp is the --help of the binary under test (make build's) with the release
// flags: the text users actually see, not a constant that main might stop
// printing.
func manHelp(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(initdBin, "--help").Output()
	if err != nil {
		t.Fatalf("initd --help: %v", err)
	}
	return string(out)
}

// manSections splits roff source into its .SH sections, keyed by title.
func manSections(t *testing.T) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	secs := map[string][]string{}
	cur := ""
	for _, line := range strings.Split(string(src), "\n") {
		if title, ok := strings.CutPrefix(line, ".SH "); ok {
			cur = strings.Trim(title, `"`)
			continue
		}
		if cur != "" {
			secs[cur] = append(secs[cur], line)
		}
	}
	return secs
}

// manTags returns the tag line of every .TP in lines, as plain text: font
// escapes removed, \- turned into -, and the arguments of .B and .BR
// joined as troff would print them.
func manTags(t *testing.T, lines []string) []string {
	t.Helper()
	var tags []string
	for i, l := range lines {
		if l != ".TP" {
			continue
		}
		if i+1 >= len(lines) {
			t.Fatalf(".TP at the end of a section")
		}
		tags = append(tags, roffText(t, lines[i+1]))
	}
	return tags
}

var fontEscape = regexp.MustCompile(`\\f[BIRP]`)

func roffText(t *testing.T, l string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(l, ".B "):
		l = strings.Join(roffArgs(l[3:]), " ")
	case strings.HasPrefix(l, ".BR "), strings.HasPrefix(l, ".BI "), strings.HasPrefix(l, ".IR "):
		l = strings.Join(roffArgs(l[4:]), "")
	case strings.HasPrefix(l, "."):
		t.Fatalf("initd.1: a .TP tag must be text or .B/.BR/.BI/.IR, not %q", l)
	}
	l = fontEscape.ReplaceAllString(l, "")
	return strings.ReplaceAll(l, `\-`, "-")
}

// roffArgs splits macro arguments at spaces, keeping "quoted strings" whole.
func roffArgs(s string) []string {
	var args []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				end = len(s) - 1
			}
			args = append(args, s[1:end+1])
			s = s[min(end+2, len(s)):]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
	return args
}

// flagSpec normalises "-r, --rewrite FROM:TO" to "-r --rewrite FROM:TO", so
// that the value's name is compared too.
func flagSpec(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, ",", " ")), " ")
}

// helpBlock returns the lines of --help from the one starting with heading
// up to the next blank line.
func helpBlock(t *testing.T, help, heading string) []string {
	t.Helper()
	lines := strings.Split(help, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, heading) })
	if start < 0 {
		t.Fatalf("--help has no %q section:\n%s", heading, help)
	}
	var block []string
	for _, l := range lines[start:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		block = append(block, l)
	}
	return block
}

// manDiff lists every item that one list has and the other lacks.
func manDiff(help, man []string) []string {
	var diff []string
	for _, h := range help {
		if !slices.Contains(man, h) {
			diff = append(diff, "--help has "+strconv.Quote(h)+", initd.1 does not")
		}
	}
	for _, m := range man {
		if !slices.Contains(help, m) {
			diff = append(diff, "initd.1 has "+strconv.Quote(m)+", --help does not")
		}
	}
	return diff
}

func compareBoth(t *testing.T, what string, help, man []string) {
	t.Helper()
	if len(help) == 0 || len(man) == 0 {
		t.Fatalf("%s: found none (--help %d, initd.1 %d): has the layout changed?", what, len(help), len(man))
	}
	for _, d := range manDiff(help, man) {
		t.Errorf("%s: %s", what, d)
	}
}

func TestManPageOptionsMatchHelp(t *testing.T) {
	var help []string
	for _, l := range helpBlock(t, manHelp(t), "options:")[1:] {
		// "  -c, --single-child       forward ..."; a long value can push
		// the description onto the next line, which starts with spaces
		// only.
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "-") {
			continue
		}
		spec, _, _ := strings.Cut(l, "  ")
		help = append(help, flagSpec(spec))
	}
	var man []string
	for _, tag := range manTags(t, manSections(t)["OPTIONS"]) {
		man = append(man, flagSpec(tag))
	}
	compareBoth(t, "options", help, man)
}

var envName = regexp.MustCompile(`\b(?:INITD|TINI|DUMB_INIT)_[A-Z_]+[A-Z]`)

func TestManPageEnvironmentMatchesHelp(t *testing.T) {
	help := envName.FindAllString(strings.Join(helpBlock(t, manHelp(t), "environment"), "\n"), -1)
	man := manTags(t, manSections(t)["ENVIRONMENT"])
	compareBoth(t, "environment", help, man)
}

func TestManPageExitStatusesMatchHelp(t *testing.T) {
	// "exit status: the child's; 126 command not executable; 127 ...":
	// every number in the block is a status initd itself returns.
	block := strings.Join(helpBlock(t, manHelp(t), "exit status"), " ")
	help := regexp.MustCompile(`\b\d+\b`).FindAllString(block, -1)
	man := manTags(t, manSections(t)["EXIT STATUS"])
	compareBoth(t, "exit statuses", help, man)
}

// The comparison must notice drift: a page that lost a flag, gained one, or
// renamed a value.
func TestManPageCheckCatchesDrift(t *testing.T) {
	page := []string{
		".TP", `\fB\-c\fR, \fB\-\-single\-child\fR`, "text",
		".TP", `.BR \-x ", " \-\-extra`,
		".TP", `\fB\-r\fR, \fB\-\-rewrite\fR \fIFROM\fR`,
	}
	var man []string
	for _, tag := range manTags(t, page) {
		man = append(man, flagSpec(tag))
	}
	want := []string{"-c --single-child", "-x --extra", "-r --rewrite FROM"}
	if !slices.Equal(man, want) {
		t.Fatalf("parsed %q, want %q", man, want)
	}
	help := []string{"-c --single-child", "-r --rewrite FROM:TO", "-g"}
	if d := manDiff(help, man); len(d) != 4 {
		t.Fatalf("want 4 differences (-r twice, -g, -x), got %q", d)
	}
}

// TestManPageRenders formats the page the way man(1) does, with every groff
// warning switched on; any output on stderr is a defect in the page.
func TestManPageRenders(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		manMissing(t, "groff not found (Debian package groff-base)")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", manPage)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -man -ww: %v\n%s", err, stderr.String())
	}
}

func manMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("INITD_STRICT_TESTS") == "1" {
		t.Fatal(why + " (INITD_STRICT_TESTS=1)")
	}
	t.Skip(why)
}

// The page's header names the release; it must follow the version in
// initd.go, which --version prints.
func TestManPageVersionMatchesBinary(t *testing.T) {
	out, err := exec.Command(initdBin, "--version").Output()
	if err != nil {
		t.Fatalf("initd --version: %v", err)
	}
	f := strings.Fields(string(out)) // initd version X - git.Y
	if len(f) < 3 {
		t.Fatalf("initd --version printed %q", out)
	}
	src, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	want := `"initd ` + f[2] + `"`
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, ".TH ") {
			if !strings.Contains(l, want) {
				t.Errorf("initd.1: %q does not name %s", l, want)
			}
			return
		}
	}
	t.Error("initd.1 has no .TH line")
}
