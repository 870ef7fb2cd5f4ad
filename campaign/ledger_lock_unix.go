//go:build unix

package campaign

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock reports that another process holds the lock.
var errWouldBlock = syscall.EWOULDBLOCK

// lockFile takes an exclusive advisory lock without waiting. flock locks
// belong to the open file description, so they are released when the
// process dies, however it dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return errWouldBlock
		}
		return err
	}
}

// sharedLockFile takes a shared advisory lock without waiting: readers may
// hold it together, a writer's exclusive lock may not be taken beside it.
func sharedLockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return errWouldBlock
		}
		return err
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
