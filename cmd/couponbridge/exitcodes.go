package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/couponbridge/couponbridge/campaign"
)

// Exit codes of couponbridge. They are stable: scripts and service managers
// rely on them. exitCode maps a command's error to one of them, in one place.
//
//	0    done
//	1    error (the store or the mail server unreachable, the ledger in use, ...);
//	     for issue: rows left because the store or the mail server could not be
//	     reached or kept refusing (campaign.BlockedError), the cause last
//	     (emails held back only by a mail cap are no error: 0, or 3)
//	2    usage or configuration error: nothing was done
//	3    finished, with failures to review (`couponbridge status CAMPAIGN`)
//	130  interrupted by SIGINT or SIGTERM: run the same command again to finish
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitFailures    = 3
	exitInterrupted = 130
)

// exitCodeHelp documents the exit codes in `couponbridge help`.
const exitCodeHelp = `Exit codes:
  0    done
  1    error (store or mail server unreachable, ledger in use by another process, ...);
       issue: rows left because the store or the mail server could not be reached
       or kept refusing, with the cause as the last line
  2    usage or configuration error: nothing was done
  3    finished, with failures to review (see 'couponbridge status CAMPAIGN')
  130  interrupted (SIGINT or SIGTERM): run the same command again to finish
`

// usageError is a command line that cannot be run: a missing or unknown
// flag or argument, an unknown campaign. Exit code 2.
type usageError struct {
	msg string
	err error // the cause, when the usage error wraps one (see inputError)
}

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return e.err }

// inputError makes err, a problem with an input file (a recipients list
// that is not valid CSV, has no email column, cannot be read), a usage
// error: exit code 2, nothing was done.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	return &usageError{msg: err.Error(), err: err}
}

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failuresError says that a command finished but left rows that need the
// owner's attention (failed, unconfirmed). Exit code 3. The command has
// already printed its summary; the message says where to look.
type failuresError struct {
	count int
	hint  string
}

func (e *failuresError) Error() string {
	if e.count == 1 {
		return "1 recipient needs attention: " + e.hint
	}
	return fmt.Sprintf("%d recipients need attention: %s", e.count, e.hint)
}

// exitCode maps the error a command returned to the process's exit code.
func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce *configError
	var fe *failuresError
	switch {
	case errors.Is(err, context.Canceled) || (ctx.Err() != nil && !errors.As(err, &fe)):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, campaign.ErrCampaignChanged):
		// Settings that changed under a campaign are a configuration
		// problem: nothing was done.
		return exitUsage
	case errors.As(err, &fe):
		return exitFailures
	}
	return exitError
}

// reportError prints err for the user (stderr) and returns the exit code.
func reportError(ctx context.Context, env *cliEnv, cmdName string, err error) int {
	code := exitCode(ctx, err)
	switch code {
	case exitOK:
	case exitInterrupted:
		fmt.Fprintln(env.Stderr, "couponbridge: interrupted; what was done is recorded in the ledger: run the same command again to finish")
	case exitUsage:
		var ce *configError
		if errors.As(err, &ce) {
			n := len(ce.problems)
			fmt.Fprintf(env.Stderr, "couponbridge: the configuration has %d problem%s:\n", n, plural(n))
			for _, p := range ce.problems {
				fmt.Fprintln(env.Stderr, "  "+p)
			}
			break
		}
		fmt.Fprintf(env.Stderr, "couponbridge %s: %v\n", cmdName, err)
		fmt.Fprintf(env.Stderr, "Run 'couponbridge help %s' for usage.\n", cmdName)
	default:
		msg := err.Error()
		fmt.Fprintf(env.Stderr, "couponbridge %s: %s\n", cmdName, strings.TrimPrefix(msg, "couponbridge: "))
	}
	return code
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
