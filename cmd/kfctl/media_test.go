package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/wxkf/kf"
)

func TestMedia(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	content := bytes.Repeat([]byte("kfctl media test\n"), 100)
	file := writeFile(t, "notes.txt", content)

	var up kf.UploadMediaResponse
	kfctl(t, with(env, "KF_OUTPUT", "json"), "media", "upload", file).ok(t).json(t, &up)
	if up.Type != kf.MediaTypeFile || up.MediaID == "" {
		t.Fatalf("upload = %+v", up)
	}
	// the type follows the extension unless --type says otherwise
	img := writeFile(t, "photo.bin", pngBytes)
	r := kfctl(t, env, "media", "upload", img, "--type", "image").ok(t)
	contains(t, "upload table", r.stdout, "type", "image", "media_id", "created_at")

	out := filepath.Join(t.TempDir(), "copy.txt")
	r = kfctl(t, env, "media", "download", up.MediaID, "-o", out).ok(t)
	contains(t, "download", r.stdout, out, "1700")
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("downloaded %d bytes (err %v), want %d", len(got), err, len(content))
	}

	r = kfctl(t, env, "media", "download", up.MediaID, "-o", "-").ok(t)
	if r.stdout != string(content) {
		t.Errorf("stdout has %d bytes, want the medium's %d", len(r.stdout), len(content))
	}

	// an unknown media_id: an API error, and no file left behind
	missing := filepath.Join(t.TempDir(), "missing.bin")
	r = kfctl(t, env, "media", "download", "nope", "-o", missing).exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode")
	entries, _ := os.ReadDir(filepath.Dir(missing))
	if len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

func TestMediaTypeOf(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]kf.MediaType{
		"a.JPG": kf.MediaTypeImage, "b.png": kf.MediaTypeImage, "c.amr": kf.MediaTypeVoice,
		"d.mp4": kf.MediaTypeVideo, "e.pdf": kf.MediaTypeFile, "f": kf.MediaTypeFile,
	} {
		if got := mediaTypeOf(name); got != want {
			t.Errorf("mediaTypeOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestMediaUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	dir := t.TempDir()
	big := writeFile(t, "big.png", make([]byte, kf.MediaTypeImage.MaxSize()+1))
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"media", "upload", dir}, "is a directory", exitUsage},
		{[]string{"media", "upload", big}, "at most", exitUsage},
		{[]string{"media", "upload", big, "--type", "gif"}, "--type", exitUsage},
		{[]string{"media", "download", "m1"}, "missing --out", exitUsage},
		{[]string{"media", "upload", filepath.Join(dir, "none.png")}, "no such file", exitError},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", tc.args, r.code, tc.code, r.stderr)
		}
		contains(t, "stderr", r.stderr, tc.want)
	}
	noCalls(t, s)
}
