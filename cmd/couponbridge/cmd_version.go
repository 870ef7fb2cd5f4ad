package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionCommand prints the version of couponbridge and how it was built.
func versionCommand() *command {
	return &command{
		Name:    "version",
		Summary: "Print the version of couponbridge",
		Usage: `couponbridge version

Prints the release (the module version when installed with
'go install github.com/couponbridge/couponbridge/cmd/couponbridge@VERSION'),
the commit it was built from, its time and whether the tree had local
changes, the Go version and the platform, for bug reports.

Example:
  couponbridge version`,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments, got %q", args[0])
			}
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(env.Stdout, formatVersion(version, bi))
			return nil
		},
	}
}

// releaseVersion is the release this binary is: the -ldflags version when
// set, else the module version go install recorded, else "dev".
func releaseVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return release(version, bi)
}

func release(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "dev" && ldflags != "" {
		return ldflags
	}
	// A build in a clone records "(devel)", or a pseudo-version from its
	// VCS state with Go ≥ 1.24; go install module@v1.2.3 records v1.2.3.
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// formatVersion is "couponbridge RELEASE (commit REV, TIME[, modified];
// GOVERSION OS/ARCH)"; the commit part is left out when the build did not
// record one (go run, a build outside a clone).
func formatVersion(ldflags string, bi *debug.BuildInfo) string {
	var vcs []string
	if bi != nil {
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			vcs = append(vcs, "commit "+rev)
			if at != "" {
				vcs = append(vcs, at)
			}
			if modified == "true" {
				vcs = append(vcs, "modified")
			}
		}
	}
	built := fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if len(vcs) > 0 {
		built = strings.Join(vcs, ", ") + "; " + built
	}
	return fmt.Sprintf("couponbridge %s (%s)", release(ldflags, bi), built)
}
