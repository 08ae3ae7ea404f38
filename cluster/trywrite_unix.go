//go:build unix

package cluster

import (
	"errors"
	"net"
	"syscall"
)

// rawWriter writes to a socket without blocking. It is made once per
// stream: the raw connection and the write's callback would otherwise be
// allocated for every write.
type rawWriter struct {
	raw syscall.RawConn // nil for a connection that is no socket
	fn  func(fd uintptr) bool
	// The write under way (fn's), set and read by write only.
	b   []byte
	n   int
	err error
}

// newRawWriter makes the rawWriter of conn.
func newRawWriter(conn net.Conn) *rawWriter {
	w := &rawWriter{}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	w.fn = w.writeFD
	return w
}

// write writes what it can of b without blocking: it returns how many
// bytes the socket took (0 when its buffer is full, or for a connection
// that is no socket).
func (w *rawWriter) write(b []byte) (int, error) {
	if w.raw == nil {
		return 0, nil
	}
	w.b, w.n, w.err = b, 0, nil
	err := w.raw.Write(w.fn)
	n, werr := w.n, w.err
	w.b, w.err = nil, nil
	if err != nil {
		return n, err
	}
	return n, werr
}

func (w *rawWriter) writeFD(fd uintptr) bool {
	for w.n < len(w.b) {
		k, e := syscall.Write(int(fd), w.b[w.n:])
		if e == syscall.EINTR {
			continue
		}
		if e != nil {
			if !errors.Is(e, syscall.EAGAIN) {
				w.err = e
			}
			break
		}
		if k <= 0 {
			break
		}
		w.n += k
	}
	return true // never wait for the socket to be writable
}
