package singleton_test

import (
	"os"
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv(hlChildEnv) != "" {
		os.Exit(runHLChild())
	}
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	testkit.VerifyTestMain(m)
}
