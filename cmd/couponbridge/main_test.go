package main

import (
	"os"
	"testing"
)

// envRunAsCLI makes the test binary behave as the couponbridge command, so
// that tests can run it as a real subprocess (and kill it) without a
// separate build step.
const envRunAsCLI = "COUPONBRIDGE_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsCLI) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
