package behaviour

import (
	"time"

	"github.com/arbor-otp/arbor/actor"
)

type resultKind uint8

const (
	kindNoReply resultKind = iota
	kindReply
	kindStop
)

// Result is what a GenServer callback returns: the new state and what to do
// next. Build it with Reply, NoReply, Stop or StopReply, then optionally
// chain Continue, Timeout or Hibernate:
//
//	return behaviour.Reply(v, s)                 // {reply, V, S}
//	return behaviour.NoReply(s).Timeout(time.Second)
//	return behaviour.NoReply(s).Timeout(0)       // {noreply, S, 0}
//	return behaviour.NoReply(s).Hibernate()      // {noreply, S, hibernate}
//	return behaviour.Reply(v, s).Continue(load{}) // {reply, V, S, {continue, C}}
//	return behaviour.Stop(actor.Normal, s)       // {stop, normal, S}
//
// A Result without Timeout has no idle timeout (OTP's infinity); the zero
// Result is NoReply of the zero state.
type Result[S any] struct {
	state   S
	kind    resultKind
	reply   any
	replies bool // StopReply: answer before stopping
	reason  error
	cont    any
	hasCont bool
	// hasTimeout tells Timeout(0), "time out now unless a message is
	// waiting", from no timeout at all (the zero value).
	timeout    time.Duration
	hasTimeout bool
	hibernate  bool
}

// Reply answers the current call with v and keeps state s. In HandleCast,
// HandleInfo and HandleContinue the reply is ignored.
func Reply[S any](v any, s S) Result[S] { return Result[S]{state: s, kind: kindReply, reply: v} }

// NoReply keeps state s without answering; a call handled this way is
// answered later with From.Reply.
func NoReply[S any](s S) Result[S] { return Result[S]{state: s, kind: kindNoReply} }

// Stop ends the server with reason after Terminate runs. A pending call is
// not answered; its caller gets the reason.
func Stop[S any](reason error, s S) Result[S] {
	return Result[S]{state: s, kind: kindStop, reason: reason}
}

// StopReply answers the current call with v, then ends the server with
// reason.
func StopReply[S any](reason error, v any, s S) Result[S] {
	return Result[S]{state: s, kind: kindStop, reason: reason, reply: v, replies: true}
}

// Continue asks for HandleContinue(arg) to run before the next message.
func (r Result[S]) Continue(arg any) Result[S] {
	r.cont, r.hasCont = arg, true
	return r
}

// Timeout asks for a Timeout message (to HandleInfo) if no message arrives
// within d. A d of 0 (or less) times out at once unless a message is already
// waiting, as OTP's timeout 0. Without Timeout there is no idle timeout; the
// next message, of any kind, cancels it.
func (r Result[S]) Timeout(d time.Duration) Result[S] {
	r.timeout, r.hasTimeout, r.hibernate = max(d, 0), true, false
	return r
}

// Hibernate asks the server to hibernate once it has no message waiting
// (OTP's hibernate result): the process gives back the buffers and map
// space it grew for past peaks; see actor.Context.Hibernate. The state is kept as it is.
// Timeout and Hibernate share OTP's slot: the last one called wins.
func (r Result[S]) Hibernate() Result[S] {
	r.hibernate, r.hasTimeout, r.timeout = true, false, 0
	return r
}

// Timeout is the message HandleInfo receives when the idle timeout requested
// by Result.Timeout or InitTimeout passes with no other message.
type Timeout struct{}

// Ignore is what Init returns to decline starting: Start returns Ignore and
// no process remains.
var Ignore = actor.Ignore
