// Command couponbridge creates personalized one-time WooCommerce coupons in
// bulk, emails each code to its recipient, and keeps a ledger of what it did.
//
// main is thin: it turns OS signals into a context, describes the process
// to run (its standard streams, environment and terminal), and exits with
// the code run returns. Everything else is in run and the commands, which
// tests drive in-process. See `couponbridge help` for the commands and the
// exit codes (exitcodes.go).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// version is the release, set with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// commands lists every subcommand, in the order of `couponbridge help`.
func commands() []*command {
	return []*command{
		demoCommand(),
		issueCommand(),
		statusCommand(),
		exportCommand(),
		syncCommand(),
		reportCommand(),
		pruneCommand(),
		resendCommand(),
		retryCommand(),
		reissueCommand(),
		lookupCommand(),
		suppressCommand(),
		previewCommand(),
		checkConfigCommand(),
		doctorCommand(),
		sandboxCommand(),
		daemonCommand(),
		runJobCommand(),
		versionCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, the next one kills at once: the ledger
		// makes even that safe to resume.
		<-ctx.Done()
		stop()
	}()
	env := &cliEnv{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Stdin:      os.Stdin,
		Getenv:     os.Getenv,
		IsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		Program:    os.Args[0],
	}
	code := run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}
