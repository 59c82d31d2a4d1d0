package examples

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/initd/initd/examples/internal/demo"
	"github.com/initd/initd/examples/internal/testenv"
)

// TestInitdImage checks the image scripts/image makes of an initd binary
// (what "make release" writes for every architecture, and the node's
// sandbox image): an OCI layout whose blobs match their digests, one
// layer holding /initd alone with the binary's bytes, initd --pause as
// what it runs, and the same bytes from a second run made at another
// time, from a copy with another mtime, under another umask.
func TestInitdImage(t *testing.T) {
	initd := testenv.Initd(t)
	repo, err := demo.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := demo.InitdImage(ctx, repo, initd, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	copyDir := t.TempDir()
	again := filepath.Join(copyDir, "initd")
	b, err := os.ReadFile(initd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(again, b, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(again, old, old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // another second on the clock
	mask := syscall.Umask(0o077)
	second, err := demo.InitdImage(ctx, repo, again, t.TempDir())
	syscall.Umask(mask)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(first)
	y, _ := os.ReadFile(second)
	if !bytes.Equal(x, y) {
		t.Errorf("two runs of scripts/image on the same binary made different archives (%d and %d bytes)", len(x), len(y))
	}

	files := untar(t, bytes.NewReader(x))
	for _, name := range []string{"oci-layout", "index.json", "manifest.json"} {
		if _, ok := files[name]; !ok {
			t.Fatalf("the archive has no %s; it has %v", name, keys(files))
		}
	}
	blob := func(digest string) []byte {
		t.Helper()
		hexsum, ok := strings.CutPrefix(digest, "sha256:")
		data, found := files["blobs/sha256/"+hexsum]
		if !ok || !found {
			t.Fatalf("no blob for %s", digest)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != hexsum {
			t.Fatalf("blob %s does not match its digest", digest)
		}
		return data
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	decode(t, files["index.json"], &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1", len(index.Manifests))
	}
	name := index.Manifests[0].Annotations["io.containerd.image.name"]
	if !strings.HasPrefix(name, "docker.io/library/initd:") {
		t.Errorf("image name %q, want docker.io/library/initd:<version>", name)
	}
	var manifest struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	decode(t, blob(index.Manifests[0].Digest), &manifest)
	var config struct {
		Architecture string `json:"architecture"`
		Config       struct {
			Entrypoint []string
			Cmd        []string
		} `json:"config"`
	}
	decode(t, blob(manifest.Config.Digest), &config)
	if got := strings.Join(append(config.Config.Entrypoint, config.Config.Cmd...), " "); got != "/initd --pause" {
		t.Errorf("the image runs %q, want \"/initd --pause\"", got)
	}
	if len(manifest.Layers) != 1 {
		t.Fatalf("%d layers, want 1", len(manifest.Layers))
	}
	tr := tar.NewReader(bytes.NewReader(blob(manifest.Layers[0].Digest)))
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(tr)
	if h.Name != "initd" || h.Mode&0o7777 != 0o755 || h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 || !bytes.Equal(content, b) {
		t.Errorf("layer entry %q mode %o uid %d gid %d mtime %v (%d bytes), want initd 755 0 0 at the epoch with the binary's %d bytes",
			h.Name, h.Mode, h.Uid, h.Gid, h.ModTime, len(content), len(b))
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("the layer holds more than /initd")
	}
	// The docker-save manifest names the same blobs, for docker load.
	var docker []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	decode(t, files["manifest.json"], &docker)
	if len(docker) != 1 || docker[0].Config != "blobs/sha256/"+strings.TrimPrefix(manifest.Config.Digest, "sha256:") ||
		len(docker[0].Layers) != 1 || docker[0].Layers[0] != "blobs/sha256/"+strings.TrimPrefix(manifest.Layers[0].Digest, "sha256:") ||
		len(docker[0].RepoTags) != 1 || "docker.io/library/"+docker[0].RepoTags[0] != name {
		t.Errorf("manifest.json %+v does not name the OCI manifest's blobs and %s", docker, name)
	}
	// Like the release script, it refuses what it cannot do.
	if out, err := exec.Command(filepath.Join(repo, "scripts", "image"), "-f", initd, "-o", t.TempDir(), "mips").CombinedOutput(); err == nil {
		t.Errorf("scripts/image accepted an unknown architecture: %s", out)
	}
}

func untar(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, "./")] = b
		}
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
