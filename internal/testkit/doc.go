// Package testkit holds helpers for Arbor's own tests. Production packages
// never import it, and nothing in it is part of Arbor's API.
//
// Wait for an effect with Eventually instead of sleeping:
//
//	testkit.Eventually(t, 2*time.Second, func() error {
//		if n := sup.CountChildren().Active; n != 3 {
//			return fmt.Errorf("%d active children, want 3", n)
//		}
//		return nil
//	})
//
// Check for leaked goroutines in every package's TestMain, with the
// exceptions protoactor-go needs:
//
//	func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }
//
// Run a real Consul agent (bin/consul, built by `make consul`) on free
// loopback ports with StartConsulAgent (-dev) or StartPersistentConsulAgent
// (its Raft state survives Stop and Start, on tmpfs where there is one, so
// that its fsyncs do not wait on a loaded machine's disk); it accepts
// session TTLs down to 1 s. Its log (info, or ARBOR_CONSUL_LOG_LEVEL) is
// kept in the test's temp dir over all its runs, and a failed test prints
// its tail.
//
// Run a node of a multi-process test as a child process with StartChild,
// usually on ChildCommand (the test binary again, its TestMain told by an
// environment variable to run a child's main): the test reads its stdout
// line by line, its stderr is kept and shown if the test fails, and it is
// stopped by closing its stdin (killed after ChildStopWait) when the test
// ends. AwaitReady waits for its first sign of life.
//
// Record what callbacks see, from any goroutine, in a List (Add; All for a
// copy, Take to read and empty it); collect a node's log in a LogBuffer.
//
// Give a test server an ephemeral loopback port with FreePort. Put a
// network that can fail between two nodes with NewProxy: Cut(Blackhole)
// silences it, Cut(Reset) closes its connections, Heal restores it. For
// more than two nodes, NewMesh puts a proxy on each ordered pair (each node
// dials its peers through its own routes, cluster.WithPeerAddr), so that a
// cut can be one-way (a to b only) or partial (a and b apart while c
// reaches both).
//
// # Guarantees
//
// Eventually calls f from the calling goroutine only, never concurrently
// with itself, and stops the test with f's last error once the timeout has
// passed. GoleakOptions ignores only goroutines that protoactor-go starts
// and ends by itself within a bounded time; a goroutine that Arbor starts
// is never ignored.
package testkit
