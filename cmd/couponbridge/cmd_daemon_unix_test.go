//go:build unix

package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

func TestDaemonCommandReloadsOnARealSIGHUP(t *testing.T) {
	s := newJobsSandbox(t, "")
	logs := &syncBuffer{}
	env := &cliEnv{Stdout: io.Discard, Stderr: logs, Getenv: envMap(nil),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		global: &globalOptions{ConfigFile: s.config, LogLevel: "info", LogFormat: "text"}}
	started := make(chan struct{})
	// No test hook for reloads: the command listens for SIGHUP itself. The
	// signal is sent only after it started listening (started is called
	// after signal.Notify), or it would kill the test binary.
	o := &daemonOptions{started: func(*campaign.Daemon) { close(started) }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, env, o, nil) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("daemon ended early: %v", err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload after SIGHUP", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
}
