package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
)

// The acceptor is a GenServer owning the listening socket and an accept
// goroutine, which hands each new connection to the connections supervisor.
// It traps exits, so its supervisor's shutdown runs Terminate: the listener
// closes and the goroutine is waited for.

type (
	addrReq      struct{}
	acceptFailed struct{ err error }
)

type acceptorState struct {
	ln   net.Listener
	done chan struct{} // closed when the accept goroutine has returned
}

type acceptor struct {
	addr  string
	conns supervision.DynamicSupervisor[net.Conn]
}

func (a acceptor) Init(ctx *actor.Context) (*acceptorState, error) {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return nil, fmt.Errorf("kvserver: listen on %s: %w", a.addr, err)
	}
	st := &acceptorState{ln: ln, done: make(chan struct{})}
	node, self, log := ctx.Node(), ctx.Self(), *ctx.Logger()
	exited := node.WatchExit(self)
	go func() { // a Kill skips Terminate: close the listener anyway
		<-exited
		_ = ln.Close()
	}()
	go func() {
		defer close(st.done)
		cctx := actor.WithNode(context.Background(), node)
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					_ = node.Send(self, acceptFailed{err: err})
				}
				return
			}
			if _, err := a.conns.StartChild(cctx, c); err != nil {
				log.Error().Err(err).Stringer("remote", c.RemoteAddr()).Msg("kvserver cannot serve connection")
				_ = c.Close()
			}
		}
	}()
	log.Info().Stringer("addr", ln.Addr()).Msg("kvserver listening")
	return st, nil
}

func (acceptor) HandleCall(_ *actor.Context, _ behaviour.From, req any, s *acceptorState) behaviour.Result[*acceptorState] {
	if _, ok := req.(addrReq); ok {
		return behaviour.Reply(s.ln.Addr().String(), s)
	}
	return behaviour.Reply("", s)
}

func (acceptor) HandleInfo(_ *actor.Context, msg any, s *acceptorState) behaviour.Result[*acceptorState] {
	if m, ok := msg.(acceptFailed); ok {
		return behaviour.Stop(fmt.Errorf("kvserver: accept: %w", m.err), s)
	}
	return behaviour.NoReply(s)
}

func (acceptor) Terminate(_ *actor.Context, _ error, s *acceptorState) {
	_ = s.ln.Close()
	<-s.done
}
