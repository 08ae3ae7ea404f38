package actor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// DefaultTracePerSecond bounds the trace events a traced process logs in a
// second when TraceConfig.PerSecond is 0.
const DefaultTracePerSecond = 100

// traceValueLen bounds the text of a message or reply in a trace event.
const traceValueLen = 256

// TraceConfig sets up the trace of one process (SysProcess.SetTrace, and
// sys.Trace): every message it takes in and every reply it sends out is
// logged as a structured event, within bounds, so a busy process cannot
// flood the log.
type TraceConfig struct {
	// Logger receives the events; nil means the node's logger. Events are
	// logged at info level with "sys":"trace" and the process's pid.
	Logger *zerolog.Logger
	// PerSecond is the most events logged in one second (0 means
	// DefaultTracePerSecond). Events past it are counted, and the count is
	// logged as one "dropped" event when the next second starts.
	PerSecond int
	// Limit is the most events logged in all (0: no limit). The event that
	// reaches it is followed by a "limit" event, then the trace is silent
	// (it stays set until turned off).
	Limit int
}

// tracer logs one process's trace events. Reply events come from the
// goroutine that answers a call, which may not be the process's, hence the
// mutex.
type tracer struct {
	log       zerolog.Logger
	perSecond int
	limit     int
	now       func() int64 // Unix nanoseconds; a test sets its own

	mu      sync.Mutex
	window  int64 // start of the current second, Unix nanoseconds
	inWin   int
	dropped int
	logged  int
	silent  bool
}

func newTracer(c *Context, cfg *TraceConfig) *tracer {
	l := c.node.log
	if cfg.Logger != nil {
		l = *cfg.Logger
	}
	t := &tracer{
		log:       l.With().Str("sys", "trace").Stringer("pid", c.self).Logger(),
		perSecond: cfg.PerSecond,
		limit:     cfg.Limit,
		now:       func() int64 { return time.Now().UnixNano() },
	}
	if t.perSecond <= 0 {
		t.perSecond = DefaultTracePerSecond
	}
	return t
}

// event returns an event to fill and log, or nil if the bounds drop it;
// last is set for the event that reaches the limit.
func (t *tracer) event(kind string) (ev *zerolog.Event, last bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.silent {
		return nil, false
	}
	now := t.now()
	if now-t.window >= int64(time.Second) {
		if t.dropped > 0 {
			t.log.Info().Str("event", "dropped").Int("count", t.dropped).Msg("sys trace events dropped")
		}
		t.window, t.inWin, t.dropped = now, 0, 0
	}
	if t.inWin >= t.perSecond {
		t.dropped++
		return nil, false
	}
	t.inWin++
	t.logged++
	if t.limit > 0 && t.logged >= t.limit {
		t.silent, last = true, true
	}
	return t.log.Info().Str("event", kind), last
}

// send logs a filled event, and the limit event after the last one.
func (t *tracer) send(ev *zerolog.Event, last bool) {
	ev.Msg("sys trace")
	if last {
		t.log.Info().Str("event", "limit").Int("count", t.limit).Msg("sys trace limit reached")
	}
}

// in logs a message taken in.
func (t *tracer) in(e envelope) {
	ev, last := t.event("in")
	if ev == nil {
		return
	}
	switch m := e.msg.(type) {
	case *Request:
		ev = ev.Str("kind", "call").Stringer("from", m.from).Type("type", m.msg).Str("msg", traceText(m.msg))
	default:
		kind := "info"
		if e.cast {
			kind = "cast"
		}
		ev = ev.Str("kind", kind).Type("type", m).Str("msg", traceText(m))
	}
	t.send(ev, last)
}

// out logs a reply sent out, or a call failed with err.
func (t *tracer) out(to PID, v any, err error) {
	ev, last := t.event("out")
	if ev == nil {
		return
	}
	ev = ev.Stringer("to", to)
	if err != nil {
		ev = ev.AnErr("error", err)
	} else {
		ev = ev.Type("type", v).Str("reply", traceText(v))
	}
	t.send(ev, last)
}

// traceText prints v for a trace event, cut to traceValueLen bytes.
func traceText(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > traceValueLen {
		s = s[:traceValueLen] + "..."
	}
	return s
}

// statCounters are a process's statistics (sys:statistics) while on.
type statCounters struct {
	since int64 // turned on, Unix nanoseconds
	in    uint64
	out   atomic.Uint64 // replies may come from other goroutines
	busy  time.Duration
}

// SysStats are a process's statistics since they were turned on
// (SysProcess.SetStatistics, sys.Statistics).
type SysStats struct {
	Since       time.Time     // when statistics were turned on
	MessagesIn  uint64        // messages handled, calls and casts included
	RepliesOut  uint64        // calls answered (not counting failures)
	HandlerTime time.Duration // time spent in handlers: Arbor's reductions
}

// SetTrace turns the process's trace on with cfg, or off with nil. Turning
// it on again replaces the previous configuration and its counts.
func (p *SysProcess) SetTrace(cfg *TraceConfig) {
	c := p.c
	if c == nil {
		return
	}
	if cfg == nil {
		if c.sysx != nil {
			c.sysx.trace = nil
			c.tidySys()
		}
		return
	}
	c.extra().trace = newTracer(c, cfg)
	c.tidySys()
}

// Tracing reports whether the process's trace is on.
func (p *SysProcess) Tracing() bool {
	return p.c != nil && p.c.sysx != nil && p.c.sysx.trace != nil
}

// SetStatistics turns the process's statistics on (from zero) or off.
// Turning them on while on does nothing.
func (p *SysProcess) SetStatistics(on bool) {
	c := p.c
	if c == nil {
		return
	}
	if !on {
		if c.sysx != nil {
			c.sysx.stats = nil
			c.tidySys()
		}
		return
	}
	x := c.extra()
	if x.stats == nil {
		x.stats = &statCounters{since: time.Now().UnixNano()}
	}
	c.tidySys()
}

// Statistics returns the process's statistics, and false if they are off.
func (p *SysProcess) Statistics() (SysStats, bool) {
	c := p.c
	if c == nil || c.sysx == nil || c.sysx.stats == nil {
		return SysStats{}, false
	}
	s := c.sysx.stats
	return SysStats{
		Since:       time.Unix(0, s.since),
		MessagesIn:  s.in,
		RepliesOut:  s.out.Load(),
		HandlerTime: s.busy,
	}, true
}

// invokeDebug is invoke with the trace or statistics on.
func (c *Context) invokeDebug(e envelope) error {
	x := c.sysx
	tr, st := x.trace, x.stats
	var start time.Time
	if st != nil {
		st.in++
		start = time.Now()
	}
	if tr != nil {
		tr.in(e)
	}
	if req, ok := e.msg.(*Request); ok && !e.cast {
		watchReply(req, tr, st)
	}
	err := c.invokeMsg(e)
	if st != nil {
		st.busy += time.Since(start)
	}
	return err
}

// watchReply makes a request's answer go through the trace and the
// statistics, by the request's answer function that remote calls already
// use: Reply itself costs nothing more when nothing watches.
func watchReply(r *Request, tr *tracer, st *statCounters) {
	prev, ch, to := r.fn, r.ch, r.from
	r.fn = func(v any, err error) {
		if st != nil && err == nil {
			st.out.Add(1)
		}
		if tr != nil {
			tr.out(to, v, err)
		}
		if prev != nil {
			prev(v, err)
			return
		}
		ch <- callResult{value: v, err: err}
	}
}
