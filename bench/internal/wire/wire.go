// Package wire is the floor's remote protocol: fixed 9-byte frames (an op and
// a uint64) over one TCP connection, the least any remote runtime can do.
package wire

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
)

// Ops of a frame.
const (
	OpCall  byte = 1 // reply with the same value
	OpSend  byte = 2 // count, no reply
	OpCount byte = 3 // reply with the count
)

// Conn frames one TCP connection.
type Conn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	buf [9]byte
}

// New wraps c.
func New(c net.Conn) *Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &Conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
}

// Write queues one frame.
func (c *Conn) Write(op byte, v uint64) error {
	c.buf[0] = op
	binary.LittleEndian.PutUint64(c.buf[1:], v)
	_, err := c.w.Write(c.buf[:])
	return err
}

// Flush sends queued frames.
func (c *Conn) Flush() error { return c.w.Flush() }

// Read reads one frame.
func (c *Conn) Read() (byte, uint64, error) {
	var b [9]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return 0, 0, err
	}
	return b[0], binary.LittleEndian.Uint64(b[1:]), nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }
