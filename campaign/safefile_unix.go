//go:build unix

package campaign

import (
	"os"
	"syscall"
)

// openNoBlock opens path read-only without waiting for a writer when it is
// a FIFO; reads of a regular file are not affected by O_NONBLOCK.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
