package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionCommand prints the version of couponbridge and how it was built.
func versionCommand() *command {
	return &command{
		Name:    "version",
		Summary: "Print the version of couponbridge",
		Usage: `couponbridge version

Prints the release, the source revision when known, the Go version and the
platform, for bug reports.

Example:
  couponbridge version`,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments, got %q", args[0])
			}
			fmt.Fprintln(env.Stdout, versionString())
			return nil
		},
	}
}

// versionString is "couponbridge VERSION (REVISION, GOVERSION, OS/ARCH)".
func versionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				if s.Value == "true" && rev != "" {
					rev += "+dirty"
				}
			}
		}
	}
	if rev != "" {
		rev += ", "
	}
	return fmt.Sprintf("couponbridge %s (%s%s, %s/%s)", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
