//go:build unix

package cluster

import (
	"net"
	"runtime"
	"syscall"
	"time"
)

// rawConnOf returns conn's raw connection for spin, or nil.
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// spin polls the connection for the reply's first byte, without taking
// it, for at most d, yielding between polls, so that a reply coming
// within d finds its caller awake (WithCallSpin). It returns at once when
// bytes are buffered, or when the connection has data, an error or its
// end: the read that follows takes them as it would have.
func (pc *poolConn) spin(d time.Duration) {
	if pc.rc == nil || pc.r.Buffered() > 0 {
		return
	}
	var one [1]byte
	end := time.Now().Add(d)
	for {
		ready := false
		err := pc.rc.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			ready = n > 0 || err == nil || (err != syscall.EAGAIN && err != syscall.EINTR)
			return true // never park here
		})
		if ready || err != nil || !time.Now().Before(end) {
			return
		}
		runtime.Gosched()
	}
}
