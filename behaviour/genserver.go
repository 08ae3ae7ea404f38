package behaviour

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// Server is a GenServer's required callback. S is the server's state type:
// every callback receives and returns an S, never an interface to cast.
type Server[S any] interface {
	// Init runs inside Start, as the new process, before Start returns. An
	// error fails Start and leaves no process; Ignore declines to start.
	// Use InitContinue or InitTimeout to return those OTP init results.
	Init(ctx *actor.Context) (S, error)
}

// CallHandler handles Call requests (handle_call).
type CallHandler[S any] interface {
	HandleCall(ctx *actor.Context, from From, req any, state S) Result[S]
}

// CastHandler handles Cast messages (handle_cast).
type CastHandler[S any] interface {
	HandleCast(ctx *actor.Context, msg any, state S) Result[S]
}

// InfoHandler handles every other message: plain sends, Exit, Down, Timeout
// (handle_info).
type InfoHandler[S any] interface {
	HandleInfo(ctx *actor.Context, msg any, state S) Result[S]
}

// ContinueHandler handles Continue requests (handle_continue).
type ContinueHandler[S any] interface {
	HandleContinue(ctx *actor.Context, arg any, state S) Result[S]
}

// Terminator is told why the server stops (terminate). It runs when a
// callback returns Stop, when StopServer is called, when a callback panics,
// and when the server traps exits and its parent exits.
type Terminator[S any] interface {
	Terminate(ctx *actor.Context, reason error, state S)
}

// From identifies a call being handled, for a later Reply.
type From struct{ req *actor.Request }

// Caller returns the calling process (zero for a caller outside processes).
func (f From) Caller() actor.PID {
	if f.req == nil {
		return actor.PID{}
	}
	return f.req.From()
}

// Reply answers a call handled with NoReply, from any goroutine. It reports
// false if the call was already answered or its caller gave up.
func (f From) Reply(v any) bool {
	if f.req == nil {
		return false
	}
	return f.req.Reply(v)
}

// initControl carries InitContinue / InitTimeout through Init's error.
type initControl struct {
	cont       any
	hasCont    bool
	timeout    time.Duration
	hasTimeout bool
	hibernate  bool
}

func (*initControl) Error() string { return "behaviour: init control" }

// InitContinue is Init's {ok, State, {continue, Arg}}: return it as
// `return behaviour.InitContinue(s, arg)`. Start returns as soon as Init
// does; HandleContinue(arg) then runs in the new process before any message
// it receives, so a slow continue does not hold up Start (or a supervisor
// starting the server), and a Stop returned from it is the exit of a
// started process: its links, monitors and supervisor see the exit reason.
func InitContinue[S any](s S, arg any) (S, error) {
	return s, &initControl{cont: arg, hasCont: true}
}

// InitTimeout is Init's {ok, State, Timeout}: HandleInfo gets Timeout{} if
// no message arrives within d. A d of 0 (or less) times out at once unless a
// message is already waiting, as in OTP.
func InitTimeout[S any](s S, d time.Duration) (S, error) {
	return s, &initControl{timeout: max(d, 0), hasTimeout: true}
}

// InitHibernate is Init's {ok, State, hibernate}: the server hibernates
// until its first message; see Result.Hibernate.
func InitHibernate[S any](s S) (S, error) {
	return s, &initControl{hibernate: true}
}

// messages of the gen_server protocol.
type (
	stopMsg     struct{ reason error }
	timeoutMsg  struct{ seq uint64 }
	continueMsg struct{} // runs InitContinue's HandleContinue
)

// server is the actor.Receiver that runs a Server.
type server[S any] struct {
	impl  Server[S]
	state S

	call CallHandler[S]
	cast CastHandler[S]
	info InfoHandler[S]
	cont ContinueHandler[S]
	term Terminator[S]

	// InitContinue's request, until its HandleContinue has run.
	initCont *initControl

	// The idle timeout: armed until a message arrives; timerSeq tells the
	// current timeout message from a stale one already queued.
	timer    *actor.Timer
	timerSeq uint64

	// For the crash report: the message being handled (nil between
	// messages, see handled).
	last any

	armed    bool
	lastKind messageKind
	reported bool
}

func newServer[S any](impl Server[S]) *server[S] {
	s := &server[S]{impl: impl}
	s.call, _ = impl.(CallHandler[S])
	s.cast, _ = impl.(CastHandler[S])
	s.info, _ = impl.(InfoHandler[S])
	s.cont, _ = impl.(ContinueHandler[S])
	s.term, _ = impl.(Terminator[S])
	return s
}

// Option configures Start.
type Option = actor.SpawnOption

// WithName registers the server under a node-local name (Start fails with
// actor.ErrNameTaken if it is held, actor.ErrBadName if it is empty).
func WithName(name string) Option { return actor.WithName(name) }

// WithTrapExit starts the server trapping exits, so Terminate runs when its
// parent exits.
func WithTrapExit() Option { return actor.WithTrapExit() }

// Start starts a GenServer from sp (a *actor.Node or a *actor.Context),
// runs its Init, and returns its PID. It returns Init's error (Ignore when
// Init declined), actor.ErrNilReceiver for a nil impl, actor.ErrNilNode
// for a nil sp, or the spawn error.
func Start[S any](sp actor.Spawner, impl Server[S], opts ...Option) (actor.PID, error) {
	if impl == nil {
		return actor.PID{}, actor.ErrNilReceiver
	}
	if sp == nil {
		return actor.PID{}, actor.ErrNilNode
	}
	return sp.Spawn(newServer(impl), opts...)
}

// StartLink starts a GenServer linked to the calling process, its parent.
// Its errors are Start's.
func StartLink[S any](ctx *actor.Context, impl Server[S], opts ...Option) (actor.PID, error) {
	if impl == nil {
		return actor.PID{}, actor.ErrNilReceiver
	}
	return ctx.SpawnLink(newServer(impl), opts...)
}

// Init implements actor.Initializer.
func (s *server[S]) Init(ctx *actor.Context) (err error) {
	st, err := s.impl.Init(ctx)
	s.state = st
	var ic *initControl
	if !errors.As(err, &ic) {
		return err
	}
	switch {
	case ic.hasCont:
		// HandleContinue runs in the process once Start has returned:
		// continueMsg makes sure it runs even if no message comes, and
		// every handler runs it first if another message overtook it.
		s.initCont = ic
		if err := ctx.Send(ctx.Self(), continueMsg{}); err != nil {
			return fmt.Errorf("schedule init continue: %w", err)
		}
	case ic.hasTimeout:
		s.arm(ctx, ic.timeout)
	case ic.hibernate:
		ctx.Hibernate()
	}
	return nil
}

// initContinue runs InitContinue's HandleContinue if it has not run yet.
func (s *server[S]) initContinue(ctx *actor.Context) error {
	if s.initCont == nil {
		return nil
	}
	arg := s.initCont.cont
	s.initCont = nil
	s.last, s.lastKind = arg, kindContinue
	return s.handled(s.apply(ctx, nil, NoReply(s.state).Continue(arg)))
}

// handled ends the handling of a message: unless it ended the server (whose
// crash report names it), the server lets go of it, so an idle server pins
// no message and a later StopServer is not reported with a stale one.
func (s *server[S]) handled(err error) error {
	if err == nil {
		s.last, s.lastKind = nil, kindNone
	}
	return err
}

// Panicked implements actor.PanicObserver: Terminate runs with the panic,
// then the crash report is logged, even if Terminate panics too.
func (s *server[S]) Panicked(ctx *actor.Context, err *actor.PanicError) {
	defer s.crashReport(ctx, err)
	s.terminate(ctx, err)
}

// ReceiveCast implements actor.CastReceiver.
func (s *server[S]) ReceiveCast(ctx *actor.Context, msg any) error {
	if s.initCont != nil {
		if err := s.initContinue(ctx); err != nil {
			return err
		}
	}
	s.disarm()
	s.last, s.lastKind = msg, kindCast
	if s.cast == nil {
		return s.stop(ctx, ErrNoHandler)
	}
	r := s.cast.HandleCast(ctx, msg, s.state)
	if r.kind == kindNoReply && !r.hasCont && !r.hasTimeout && !r.hibernate {
		s.state = r.state // the common case, without apply's copy
		s.last, s.lastKind = nil, kindNone
		return nil
	}
	return s.handled(s.apply(ctx, nil, r))
}

// Receive implements actor.Receiver.
func (s *server[S]) Receive(ctx *actor.Context, msg any) error {
	return s.handled(s.receive(ctx, msg))
}

func (s *server[S]) receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case continueMsg:
		return s.initContinue(ctx)
	case timeoutMsg:
		if !s.armed || m.seq != s.timerSeq {
			return nil // stale: a message arrived before it
		}
		s.disarm()
		return s.handleInfo(ctx, Timeout{})
	}
	if s.initCont != nil {
		if err := s.initContinue(ctx); err != nil {
			return err
		}
	}
	s.disarm()
	switch m := msg.(type) {
	case *actor.Request:
		s.last, s.lastKind = m, kindCall // the report unwraps it
		if s.call == nil {
			return s.stop(ctx, ErrNoHandler)
		}
		from := From{req: m}
		return s.apply(ctx, m, s.call.HandleCall(ctx, from, m.Message(), s.state))
	case stopMsg:
		return s.stop(ctx, m.reason)
	case actor.Exit:
		if ctx.TrapsExit() && m.From == ctx.Parent() && !m.From.IsZero() {
			s.last, s.lastKind = m, kindInfo
			return s.stop(ctx, m.Reason)
		}
		return s.handleInfo(ctx, m)
	default:
		return s.handleInfo(ctx, msg)
	}
}

func (s *server[S]) handleInfo(ctx *actor.Context, msg any) error {
	s.last, s.lastKind = msg, kindInfo
	if s.info == nil {
		ctx.Logger().Warn().Type("type", msg).Msg("gen_server dropped unexpected message")
		return nil
	}
	return s.apply(ctx, nil, s.info.HandleInfo(ctx, msg, s.state))
}

// apply carries out a callback's Result; req is the call being handled, if
// any.
func (s *server[S]) apply(ctx *actor.Context, req *actor.Request, r Result[S]) error {
	for {
		s.state = r.state
		switch r.kind {
		case kindReply:
			if req != nil {
				req.Reply(r.reply)
			}
		case kindStop:
			if r.replies && req != nil {
				req.Reply(r.reply)
			}
			return s.stop(ctx, r.reason)
		}
		if r.hasCont {
			if s.cont == nil {
				return s.stop(ctx, ErrNoHandler)
			}
			r = s.cont.HandleContinue(ctx, r.cont, s.state)
			req = nil
			continue
		}
		if r.hasTimeout {
			s.arm(ctx, r.timeout)
		}
		if r.hibernate {
			ctx.Hibernate()
		}
		return nil
	}
}

// arm starts the idle timeout. A d of 0 queues the timeout message at once:
// a message already waiting is ahead of it and disarms it, as OTP's
// "time out now unless a message is waiting".
func (s *server[S]) arm(ctx *actor.Context, d time.Duration) {
	s.disarm()
	s.timerSeq++
	s.armed = true
	if d <= 0 {
		_ = ctx.Send(ctx.Self(), timeoutMsg{seq: s.timerSeq})
		return
	}
	s.timer = ctx.SendAfter(ctx.Self(), timeoutMsg{seq: s.timerSeq}, d)
}

// disarm cancels the idle timeout: a message arrived, or the server stops.
// A timeout message already queued is then stale and ignored.
func (s *server[S]) disarm() {
	if !s.armed {
		return
	}
	s.armed = false
	if s.timer != nil {
		s.timer.Cancel()
		s.timer = nil
	}
}

// stop runs Terminate, logs the crash report of an abnormal reason, and
// returns the exit reason.
func (s *server[S]) stop(ctx *actor.Context, reason error) error {
	if reason == nil {
		reason = actor.Normal
	}
	s.terminate(ctx, reason)
	s.crashReport(ctx, reason)
	return reason
}

func (s *server[S]) terminate(ctx *actor.Context, reason error) {
	s.disarm()
	if s.term == nil {
		return
	}
	t := s.term
	s.term = nil // Terminate runs once, even if it panics
	t.Terminate(ctx, reason, s.state)
}

// Call sends req to the server and waits for its reply. ctx's deadline is the
// timeout (actor.DefaultCallTimeout without one); pass the caller's
// *actor.Context (or a context derived from it) from inside a process. See
// actor.Call for the errors.
func Call(ctx context.Context, pid actor.PID, req any) (any, error) {
	return actor.Call(ctx, pid, req)
}

// CallAs is Call with the reply asserted to R; a reply of another type is an
// error.
func CallAs[R any](ctx context.Context, pid actor.PID, req any) (R, error) {
	var zero R
	v, err := actor.Call(ctx, pid, req)
	if err != nil {
		return zero, err
	}
	r, ok := v.(R)
	if !ok && v != nil {
		return zero, &ReplyTypeError{Got: v, Want: reflect.TypeFor[R]()}
	}
	return r, nil
}

// ReplyTypeError is returned by CallAs when the reply is not of the type
// asked for: Got is the reply, Want the type CallAs was instantiated with.
type ReplyTypeError struct {
	Got  any
	Want reflect.Type
}

func (e *ReplyTypeError) Error() string {
	return fmt.Sprintf("behaviour: call reply is %T, want %v", e.Got, e.Want)
}

// Cast sends msg to the server's HandleCast without waiting, whether the
// server runs on this node or another. ctx names the sender as for Call. It returns the send error (actor.NoProc for a dead
// local server); like OTP's cast it does not report what the server does
// with it.
func Cast(ctx context.Context, pid actor.PID, msg any) error {
	return actor.Cast(ctx, pid, msg)
}

// StopServer stops the server with reason (Normal if nil): Terminate runs,
// and StopServer returns when the process has exited. It returns
// actor.NoProc if the server is not alive, ctx's error if it does not exit in
// time, the actual exit reason if it differs from reason, and
// actor.ErrNilNode for a nil n.
func StopServer(ctx context.Context, n *actor.Node, pid actor.PID, reason error) error {
	if n == nil {
		return actor.ErrNilNode
	}
	if reason == nil {
		reason = actor.Normal
	}
	exited := n.WatchExit(pid)
	if err := n.Send(pid, stopMsg{reason: reason}); err != nil {
		return err
	}
	select {
	case got := <-exited:
		if got == reason || errors.Is(got, reason) {
			return nil
		}
		return got
	case <-ctx.Done():
		return ctx.Err()
	}
}
