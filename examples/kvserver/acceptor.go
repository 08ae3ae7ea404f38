package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

// The acceptor is a GenServer owning the listening socket and an accept
// goroutine, which hands each new connection to the connections supervisor.
// It traps exits, so its supervisor's shutdown runs Terminate: the listener
// closes and the goroutine is waited for.
//
// Load never stops it. An accept that fails (EMFILE when the process is
// out of file descriptors, ECONNABORTED, ...) is logged and retried after
// a pause that doubles from minAcceptBackoff up to maxAcceptBackoff, and
// resets on the next success; only closing the listener ends the loop.
// Past Config.MaxConns open connections a new client is sent one ERROR
// line and closed, so the descriptors held by clients stay bounded.

// Pauses between failed accepts.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

type addrReq struct{}

type acceptorState struct {
	ln   net.Listener
	stop func()        // closes the listener and wakes a paused accept loop; idempotent
	done chan struct{} // closed when the accept goroutine has returned
}

type acceptor struct {
	cfg   Config
	open  *atomic.Int64 // open connections, shared with their processes
	conns supervision.DynamicSupervisor[connArg]
}

func (a acceptor) Init(ctx *actor.Context) (*acceptorState, error) {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("kvserver: listen on %s: %w", a.cfg.Addr, err)
	}
	stopped := make(chan struct{})
	st := &acceptorState{
		ln: ln,
		stop: sync.OnceFunc(func() {
			close(stopped)
			_ = ln.Close()
		}),
		done: make(chan struct{}),
	}
	node, self, log := ctx.Node(), ctx.Self(), *ctx.Logger()
	exited := node.WatchExit(self)
	go func() { // a Kill skips Terminate: close the listener anyway
		<-exited
		st.stop()
	}()
	go func() {
		defer close(st.done)
		a.acceptLoop(actor.WithNode(context.Background(), node), ln, stopped, log)
	}()
	log.Info().Stringer("addr", ln.Addr()).Int("max_conns", a.cfg.MaxConns).
		Stringer("idle_timeout", a.cfg.IdleTimeout).Stringer("call_timeout", a.cfg.CallTimeout).Msg("kvserver listening")
	return st, nil
}

// acceptLoop accepts connections until the listener is closed.
func (a acceptor) acceptLoop(ctx context.Context, ln net.Listener, stopped <-chan struct{}, log zerolog.Logger) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			log.Error().Err(err).Stringer("retry_in", backoff).Int64("open_conns", a.open.Load()).Msg("kvserver cannot accept; retrying")
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-stopped:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		if a.open.Add(1) > int64(a.cfg.MaxConns) {
			a.open.Add(-1)
			log.Warn().Stringer("remote", c.RemoteAddr()).Int("max_conns", a.cfg.MaxConns).Msg("kvserver refuses a connection: too many")
			refuse(c, fmt.Sprintf("ERROR too many connections (at most %d); try again later", a.cfg.MaxConns))
			continue
		}
		arg := connArg{conn: c, cfg: a.cfg, release: sync.OnceFunc(func() { a.open.Add(-1) })}
		if _, err := a.conns.StartChild(ctx, arg); err != nil {
			log.Error().Err(err).Stringer("remote", c.RemoteAddr()).Msg("kvserver cannot serve connection")
			_ = c.Close()
			arg.release()
		}
	}
}

// refuse writes line to a client that is not served and closes it. The
// write goes to a new socket's empty send buffer, so it does not block the
// accept loop; the deadline bounds it all the same.
func refuse(c net.Conn, line string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte(line + "\n"))
	_ = c.Close()
}

func (acceptor) HandleCall(_ *actor.Context, _ behaviour.From, req any, s *acceptorState) behaviour.Result[*acceptorState] {
	if _, ok := req.(addrReq); ok {
		return behaviour.Reply(s.ln.Addr().String(), s)
	}
	return behaviour.Reply("", s)
}

func (acceptor) Terminate(_ *actor.Context, _ error, s *acceptorState) {
	s.stop()
	<-s.done
}
