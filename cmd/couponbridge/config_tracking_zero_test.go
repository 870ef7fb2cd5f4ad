package main

import (
	"testing"
)

// TestConfigTrackEveryZeroTurnsTrackingOff: the example says 0 turns
// tracking off, so both "0" and "0s" are accepted as off.
func TestConfigTrackEveryZeroTurnsTrackingOff(t *testing.T) {
	for _, v := range []string{"0", "0s"} {
		t.Run(v, func(t *testing.T) {
			cfg, err := parseTest(t, t.TempDir(), baseConfig+"daemon:\n  track_every: "+v+"\n", nil)
			if err != nil {
				t.Fatalf("track_every: %s refused: %v", v, err)
			}
			if cfg.Daemon.TrackEvery != 0 {
				t.Errorf("track_every: %s loaded as %s, want 0 (off)", v, cfg.Daemon.TrackEvery)
			}
		})
	}
}
