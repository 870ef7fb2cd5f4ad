package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/couponbridge/couponbridge/campaign"
)

// checkRecipientList reads the whole list before anything is planned, so
// that a list that cannot be read to its end (a header without an email
// column, an unterminated quote, a record too large, an I/O error) plans
// nothing at all: a refused input changes nothing. With strict, a rejected
// row refuses the list too (checkStrict). The errors name the file and line;
// callers report them as usage errors (exit 2).
func checkRecipientList(env *cliEnv, path string, strict bool) error {
	if strict {
		return checkStrict(env, path)
	}
	if _, err := campaign.CheckRecipientFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageErrorf("recipients file %s does not exist", path)
		}
		return fmt.Errorf("%w; nothing was done", err)
	}
	return nil
}
