//go:build !unix

package cluster

import "net"

// tryWrite writes nothing where a non-blocking write is not at hand: the
// stream's writer goroutine writes everything.
func tryWrite(net.Conn, []byte) (int, error) { return 0, nil }
