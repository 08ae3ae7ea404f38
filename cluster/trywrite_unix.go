//go:build unix

package cluster

import (
	"errors"
	"net"
	"syscall"
)

// tryWrite writes what it can of b to conn without blocking: it returns
// how many bytes the socket took (0 when its buffer is full).
func tryWrite(conn net.Conn, b []byte) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		n    int
		werr error
	)
	err = raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, e := syscall.Write(int(fd), b[n:])
			if e == syscall.EINTR {
				continue
			}
			if e != nil {
				if !errors.Is(e, syscall.EAGAIN) {
					werr = e
				}
				break
			}
			if k <= 0 {
				break
			}
			n += k
		}
		return true // never wait for the socket to be writable
	})
	if err != nil {
		return n, err
	}
	return n, werr
}
