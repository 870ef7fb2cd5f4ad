//go:build unix

package campaign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// TestInputFilesRefuseFIFOsAndDevicesBehindSymlinks opens each input kind
// through a symlink to a FIFO without a writer (which blocked os.Open
// forever, holding the campaign) and to /dev/zero (read forever): each must
// be refused at once, naming the file.
func TestInputFilesRefuseFIFOsAndDevicesBehindSymlinks(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	targets := map[string]string{"fifo": fifo, "zero": "/dev/zero"}
	for kind, target := range targets {
		link := filepath.Join(dir, kind+".csv")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(target); err != nil {
			t.Logf("%s: %v", target, err)
			continue
		}
		_, err := CheckRecipientFile(link)
		if !errors.Is(err, ErrNotRegularFile) || !strings.Contains(err.Error(), link) {
			t.Errorf("CheckRecipientFile(%s -> %s) = %v, want ErrNotRegularFile naming it", kind, target, err)
		}
		_, err = LoadSuppressionList(link)
		if !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("LoadSuppressionList(%s -> %s) = %v, want ErrNotRegularFile", kind, target, err)
		}
	}
	if _, err := OpenRegularFile(fifo); err == nil || !strings.Contains(err.Error(), "a named pipe") {
		t.Errorf("OpenRegularFile(fifo) = %v, want it to say a named pipe", err)
	}
}
