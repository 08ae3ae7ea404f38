package behaviour

import (
	"fmt"
	"unicode/utf8"

	"github.com/arbor-otp/arbor/actor"
)

// StateFormatter is an optional GenServer callback (OTP's format_status):
// it returns the summary of the state written in the server's crash report,
// to shorten a large state or hide secrets. Without it the report holds the
// state as fmt's %+v, cut to maxReportField bytes.
type StateFormatter[S any] interface {
	FormatState(state S) string
}

// maxReportField bounds the message and state text in a crash report.
const maxReportField = 512

// messageKind says which callback the last message went to.
type messageKind uint8

const (
	kindNone messageKind = iota
	kindCall
	kindCast
	kindInfo
	kindContinue
)

func (k messageKind) String() string {
	switch k {
	case kindCall:
		return "call"
	case kindCast:
		return "cast"
	case kindInfo:
		return "info"
	case kindContinue:
		return "continue"
	}
	return "none"
}

// crashReport logs OTP's "generic server terminating" report for a server
// ending with an abnormal reason: one error event with the fields event
// ("crash_report"), server (its name, or its PID), pid, last_message_kind,
// caller (for a call from a process), last_message_type, last_message,
// state and reason. It logs nothing for a
// clean reason (actor.IsNormalExit) or when the node's crash reports are
// off (actor.WithCrashReports), and at most once per server.
func (s *server[S]) crashReport(ctx *actor.Context, reason error) {
	if s.reported || actor.IsNormalExit(reason) || !ctx.Node().CrashReports() {
		return
	}
	s.reported = true
	name := ctx.RegisteredName()
	if name == "" {
		name = ctx.Self().String()
	}
	e := ctx.Logger().Error().
		Str("event", "crash_report").
		Str("server", name).
		Stringer("last_message_kind", s.lastKind)
	last := s.last
	if req, ok := last.(*actor.Request); ok && s.lastKind == kindCall {
		last = req.Message()
		if from := req.From(); !from.IsZero() {
			e = e.Stringer("caller", from)
		}
	}
	if s.lastKind != kindNone {
		e = e.Str("last_message_type", fmt.Sprintf("%T", last)).
			Str("last_message", summarize(func() string { return fmt.Sprintf("%+v", last) }))
	}
	e.Str("state", s.stateSummary()).
		AnErr("reason", reason).
		Msg("gen_server terminated abnormally")
}

func (s *server[S]) stateSummary() string {
	if f, ok := s.impl.(StateFormatter[S]); ok {
		return summarize(func() string { return f.FormatState(s.state) })
	}
	return summarize(func() string { return fmt.Sprintf("%+v", s.state) })
}

// summarize runs format, which may be user code (a String method, a
// FormatState), and cuts its text to maxReportField bytes on a character
// boundary. A panic in format is reported in the text instead.
func summarize(format func() string) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("<formatting panicked: %v>", r)
		}
	}()
	text = format()
	if len(text) <= maxReportField {
		return text
	}
	cut := maxReportField
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}
