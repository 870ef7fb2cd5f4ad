//go:build !unix

package campaign

import "os"

// openNoBlock opens path read-only; there are no FIFOs to wait on here.
func openNoBlock(path string) (*os.File, error) {
	return os.Open(path)
}
