package main

import (
	"bufio"
	"context"
	"errors"
	"net"

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
// shutdown, Kill — closes the socket, which ends the reader.

// Messages of a connection process.
type (
	lineReq   struct{ line string }
	connEnded struct{}
)

// connServer is a connection's GenServer.
type connServer struct{ conn net.Conn }

func (s connServer) Init(ctx *actor.Context) (net.Conn, error) {
	node, self, c := ctx.Node(), ctx.Self(), s.conn
	// Close the socket when the process exits, however it exits.
	exited := node.WatchExit(self)
	go func() {
		<-exited
		_ = c.Close()
	}()
	go readLoop(actor.WithNode(context.Background(), node), self, c)
	return c, nil
}

// readLoop is a connection's reader goroutine.
func readLoop(ctx context.Context, self actor.PID, c net.Conn) {
	r := bufio.NewReaderSize(c, MaxLine)
	for {
		line, err := readLine(r)
		var reply string
		switch {
		case errors.Is(err, errTooLong):
			reply = "ERROR line too long (at most 4096 bytes)"
		case err != nil:
			// The client hung up or the socket was closed.
			_ = behaviour.Cast(ctx, self, connEnded{})
			return
		default:
			reply, err = behaviour.CallAs[string](ctx, self, lineReq{line: line})
			if err != nil {
				return // the process is gone, and closes the socket
			}
		}
		if _, err := c.Write([]byte(reply + "\n")); err != nil {
			_ = behaviour.Cast(ctx, self, connEnded{})
			return
		}
	}
}

func (connServer) HandleCall(ctx *actor.Context, _ behaviour.From, req any, c net.Conn) behaviour.Result[net.Conn] {
	r, ok := req.(lineReq)
	if !ok {
		return behaviour.Reply("ERROR internal", c)
	}
	cmd, err := parse(r.line)
	if err != nil {
		return behaviour.Reply("ERROR "+err.Error(), c)
	}
	reg, err := kv.FindRegistry(ctx.Node())
	if err != nil {
		return behaviour.Reply("ERROR kv registry unavailable", c)
	}
	return behaviour.Reply(run(ctx, reg, cmd), c)
}

func (connServer) HandleCast(_ *actor.Context, msg any, c net.Conn) behaviour.Result[net.Conn] {
	if _, ok := msg.(connEnded); ok {
		return behaviour.Stop(actor.Normal, c)
	}
	return behaviour.NoReply(c)
}

func (connServer) Terminate(_ *actor.Context, _ error, c net.Conn) { _ = c.Close() }

// startConnLink starts a connection process linked to ctx, the
// connections supervisor; it owns conn from then on.
func startConnLink(ctx *actor.Context, conn net.Conn) (actor.PID, error) {
	pid, err := behaviour.StartLink[net.Conn](ctx, connServer{conn: conn}, behaviour.WithTrapExit())
	if err != nil {
		_ = conn.Close()
	}
	return pid, err
}
