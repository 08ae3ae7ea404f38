//go:build !unix

package cluster

import (
	"net"
	"syscall"
	"time"
)

func rawConnOf(net.Conn) syscall.RawConn { return nil }

// spin does nothing here: the caller parks in its read at once.
func (pc *poolConn) spin(time.Duration) {}
