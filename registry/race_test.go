//go:build race

package registry_test

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
