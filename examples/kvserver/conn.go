package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/kv"
)

// A connection is served by one process (a GenServer, a Temporary child of
// the connections supervisor) and a reader goroutine it owns. The reader
// reads a line and calls the process with it; the process runs the command
// and replies with the answer, which the reader writes back. The call makes
// a client wait for each answer before its next line is read. Whatever
// ends the process — the client hanging up, a crash, the supervisor's
// shutdown, Kill — closes the socket, which ends the reader; whatever ends
// the reader — the client hanging up, an idle or write timeout — closes
// the socket and ends the process.
//
// Time bounds, from Config: the reader waits at most IdleTimeout for a
// complete line, and a reply that cannot be written within WriteTimeout
// closes the connection. A command runs under a CallTimeout deadline, so
// a slow bucket or registry gets the client "ERROR timeout" and the
// connection goes on; should the process itself not answer within twice
// that, the reader answers "ERROR timeout" too and goes on reading.

// Messages of a connection process.
type (
	lineReq   struct{ line string }
	connEnded struct{}
)

// connArg is what the acceptor starts a connection process with.
type connArg struct {
	conn    net.Conn
	cfg     Config
	release func() // frees the connection's place under Config.MaxConns; idempotent
}

// connServer is a connection's GenServer.
type connServer struct{ connArg }

func (s connServer) Init(ctx *actor.Context) (net.Conn, error) {
	node, self, c := ctx.Node(), ctx.Self(), s.conn
	// Close the socket when the process exits, however it exits.
	exited := node.WatchExit(self)
	go func() {
		<-exited
		_ = c.Close()
		s.release()
	}()
	go readLoop(actor.WithNode(context.Background(), node), self, c, s.cfg)
	return c, nil
}

// readLoop is a connection's reader goroutine. It closes the socket and
// ends the process when it returns.
func readLoop(ctx context.Context, self actor.PID, c net.Conn, cfg Config) {
	defer func() {
		_ = c.Close()
		_ = behaviour.Cast(ctx, self, connEnded{})
	}()
	r := bufio.NewReaderSize(c, MaxLine)
	write := func(line string) error {
		_ = c.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		_, err := c.Write([]byte(line + "\n"))
		return err
	}
	for {
		_ = c.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		line, err := readLine(r)
		var reply string
		switch {
		case errors.Is(err, errTooLong):
			reply = fmt.Sprintf("ERROR line too long (at most %d bytes)", MaxLine)
		case errors.Is(err, os.ErrDeadlineExceeded):
			_ = write(fmt.Sprintf("ERROR idle timeout (no request for %v); closing", cfg.IdleTimeout))
			return
		case err != nil:
			return // the client hung up or the socket was closed
		default:
			cctx, cancel := context.WithTimeout(ctx, 2*cfg.CallTimeout)
			reply, err = behaviour.CallAs[string](cctx, self, lineReq{line: line})
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				reply = fmt.Sprintf("ERROR timeout (no answer within %v)", 2*cfg.CallTimeout)
			} else if err != nil {
				return // the process is gone
			}
		}
		if err := write(reply); err != nil {
			return
		}
	}
}

func (s connServer) HandleCall(ctx *actor.Context, _ behaviour.From, req any, c net.Conn) behaviour.Result[net.Conn] {
	r, ok := req.(lineReq)
	if !ok {
		return behaviour.Reply("ERROR internal: unexpected request", c)
	}
	cmd, err := parse(r.line)
	if err != nil {
		return behaviour.Reply("ERROR "+err.Error(), c)
	}
	reg, err := kv.FindRegistry(ctx.Node())
	if err != nil {
		return behaviour.Reply("ERROR kv registry unavailable; try again", c)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return behaviour.Reply(run(cctx, reg, cmd, s.cfg.CallTimeout), c)
}

func (connServer) HandleCast(_ *actor.Context, msg any, c net.Conn) behaviour.Result[net.Conn] {
	if _, ok := msg.(connEnded); ok {
		return behaviour.Stop(actor.Normal, c)
	}
	return behaviour.NoReply(c)
}

func (connServer) Terminate(_ *actor.Context, _ error, c net.Conn) { _ = c.Close() }

// startConnLink starts a connection process linked to ctx, the
// connections supervisor; it owns arg.conn from then on.
func startConnLink(ctx *actor.Context, arg connArg) (actor.PID, error) {
	pid, err := behaviour.StartLink[net.Conn](ctx, connServer{arg}, behaviour.WithTrapExit())
	if err != nil {
		_ = arg.conn.Close()
		arg.release()
	}
	return pid, err
}
