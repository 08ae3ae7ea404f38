package logbridge

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/rs/zerolog"
)

// Handler returns an slog.Handler that writes every record it is given to l
// as a structured zerolog event. The package documentation describes how
// levels, attributes and groups are mapped. Handler never returns nil.
func Handler(l zerolog.Logger, opts ...Option) slog.Handler {
	h := &handler{logger: l}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Option configures a Handler.
type Option func(*handler)

// InfoAsDebug writes records below slog's Warn level at zerolog's debug
// level, for a library whose informational messages ("actor system
// started", an endpoint connected) tell the program's user nothing.
// Warnings and errors keep their level.
func InfoAsDebug() Option { return func(h *handler) { h.infoAsDebug = true } }

// handler is immutable: WithAttrs and WithGroup return new values.
type handler struct {
	// logger carries the attributes added before the first WithGroup,
	// already rendered into its context.
	logger zerolog.Logger
	// groups are the groups opened by WithGroup, outermost first, each
	// with the attributes added while it was the innermost one.
	groups []group
	// infoAsDebug lowers info records to debug (InfoAsDebug).
	infoAsDebug bool
}

type group struct {
	name  string
	attrs []slog.Attr
}

// Enabled reports whether the zerolog logger writes events of level.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	zl := h.level(level)
	return zl >= h.logger.GetLevel() && zl >= zerolog.GlobalLevel()
}

// Handle writes r as one zerolog event. It always returns nil: zerolog
// reports write errors through zerolog.ErrorHandler, not to the caller.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	l := h.logger
	e := l.WithLevel(h.level(r.Level))
	if e == nil {
		return nil
	}
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool {
			addAttr(e, a)
			return true
		})
	} else {
		var attrs []slog.Attr
		if r.NumAttrs() > 0 {
			attrs = make([]slog.Attr, 0, r.NumAttrs())
			r.Attrs(func(a slog.Attr) bool {
				attrs = append(attrs, a)
				return true
			})
		}
		if d := h.groupDict(0, attrs); d != nil {
			e.Dict(h.groups[0].name, d)
		}
	}
	e.Msg(r.Message)
	return nil
}

// groupDict renders group i, the groups inside it and, in the innermost
// one, the record's attributes. It returns nil when all of them are empty,
// so that an empty group is left out.
func (h *handler) groupDict(i int, recordAttrs []slog.Attr) *zerolog.Event {
	own := h.groups[i].attrs
	var inner *zerolog.Event
	if i+1 < len(h.groups) {
		inner = h.groupDict(i+1, recordAttrs)
	} else if len(recordAttrs) > 0 {
		own = append(own[:len(own):len(own)], recordAttrs...)
	}
	if inner == nil && !hasFields(own) {
		return nil
	}
	d := zerolog.Dict()
	addAttrs(d, own)
	if inner != nil {
		d.Dict(h.groups[i+1].name, inner)
	}
	return d
}

// WithAttrs returns a handler that adds attrs to every record, inside the
// groups opened so far.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &handler{
			logger:      h.logger.With().EmbedObject(attrList(attrs)).Logger(),
			infoAsDebug: h.infoAsDebug,
		}
	}
	groups := make([]group, len(h.groups))
	copy(groups, h.groups)
	last := &groups[len(groups)-1]
	last.attrs = append(last.attrs[:len(last.attrs):len(last.attrs)], attrs...)
	return &handler{logger: h.logger, groups: groups, infoAsDebug: h.infoAsDebug}
}

// WithGroup returns a handler that writes the attributes added after it
// inside a nested object called name. An empty name returns h unchanged.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := make([]group, len(h.groups), len(h.groups)+1)
	copy(groups, h.groups)
	return &handler{logger: h.logger, groups: append(groups, group{name: name}), infoAsDebug: h.infoAsDebug}
}

// level maps an slog level onto the zerolog level the handler writes.
func (h *handler) level(l slog.Level) zerolog.Level {
	zl := zerologLevel(l)
	if h.infoAsDebug && zl == zerolog.InfoLevel {
		return zerolog.DebugLevel
	}
	return zl
}

// zerologLevel maps an slog level onto the zerolog level of the same band.
func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l < slog.LevelInfo:
		return zerolog.DebugLevel
	case l < slog.LevelWarn:
		return zerolog.InfoLevel
	case l < slog.LevelError:
		return zerolog.WarnLevel
	default:
		return zerolog.ErrorLevel
	}
}

// attrList lets a list of attributes be embedded in a zerolog context.
type attrList []slog.Attr

func (as attrList) MarshalZerologObject(e *zerolog.Event) { addAttrs(e, as) }

func addAttrs(e *zerolog.Event, attrs []slog.Attr) {
	for _, a := range attrs {
		addAttr(e, a)
	}
}

// hasFields reports whether any of attrs would write a field.
func hasFields(attrs []slog.Attr) bool {
	for _, a := range attrs {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			if hasFields(v.Group()) {
				return true
			}
			continue
		}
		if a.Key != "" {
			return true
		}
	}
	return false
}

// addAttr writes a as one field of e, following the rules of the package
// documentation.
func addAttr(e *zerolog.Event, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		if !hasFields(attrs) {
			return
		}
		if a.Key == "" {
			addAttrs(e, attrs)
			return
		}
		e.Object(a.Key, attrList(attrs))
		return
	}
	if a.Key == "" {
		return
	}
	switch v.Kind() {
	case slog.KindString:
		e.Str(a.Key, v.String())
	case slog.KindInt64:
		e.Int64(a.Key, v.Int64())
	case slog.KindUint64:
		e.Uint64(a.Key, v.Uint64())
	case slog.KindFloat64:
		e.Float64(a.Key, v.Float64())
	case slog.KindBool:
		e.Bool(a.Key, v.Bool())
	case slog.KindDuration:
		e.Dur(a.Key, v.Duration())
	case slog.KindTime:
		e.Time(a.Key, v.Time())
	default:
		addAny(e, a.Key, v.Any())
	}
}

func addAny(e *zerolog.Event, key string, x any) {
	if isNilPointer(x) {
		// Calling Error or String on a nil pointer may panic.
		e.Interface(key, nil)
		return
	}
	switch x := x.(type) {
	case error:
		e.AnErr(key, x)
	case zerolog.LogObjectMarshaler:
		e.Object(key, x)
	case fmt.Stringer:
		e.Stringer(key, x)
	default:
		e.Interface(key, x)
	}
}

func isNilPointer(x any) bool {
	if x == nil {
		return false
	}
	v := reflect.ValueOf(x)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
