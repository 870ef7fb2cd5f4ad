package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionReportsModuleVersionAndCommit(t *testing.T) {
	installed := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/couponbridge/couponbridge", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-11-30T09:15:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tail := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	for _, tc := range []struct {
		name, ldflags string
		bi            *debug.BuildInfo
		want          string
	}{
		{"go install @version", "dev", installed,
			"couponbridge v1.4.0 (commit 0123456789ab, 2026-11-30T09:15:00Z, modified; " + tail},
		{"-ldflags wins", "v1.4.1", installed,
			"couponbridge v1.4.1 (commit 0123456789ab, 2026-11-30T09:15:00Z, modified; " + tail},
		{"go build in a clone", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"couponbridge dev (commit abc; " + tail},
		{"no build info", "dev", nil, "couponbridge dev (" + tail},
	} {
		if got := formatVersion(tc.ldflags, tc.bi); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	if r := runCLI(t, t.Context(), nil, "version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "couponbridge ") {
		t.Errorf("couponbridge version:\n%v", r)
	}
}
