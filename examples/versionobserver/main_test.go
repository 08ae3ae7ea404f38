package main

import (
	"os"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// childEnv makes the test binary run the program itself, with the
// variable's value as its arguments: every node of a test cluster is an
// OS process of its own, started from this binary (one binary, the
// version a flag), as a deployment would.
const childEnv = "ARBOR_VERSIONOBSERVER_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(realMain(strings.Fields(args), os.Stdout, os.Stderr))
	}
	testkit.VerifyTestMain(m)
}
