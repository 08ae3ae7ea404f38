// Package logbridge routes log/slog records into a zerolog logger.
//
// Arbor logs with zerolog everywhere. protoactor-go, which Arbor runs on,
// logs through log/slog. Handler turns a zerolog.Logger into an
// slog.Handler, so protoactor's output lands in the same stream, with the
// same format and the same level filter, as the rest of Arbor's logs:
//
//	zl := zerolog.New(os.Stderr).With().Timestamp().Logger()
//	system := actor.NewActorSystem(actor.WithLoggerFactory(
//		func(*actor.ActorSystem) *slog.Logger {
//			return slog.New(logbridge.Handler(zl))
//		}))
//
// # Mapping
//
// Levels: slog levels below Info become zerolog debug, Info up to Warn
// becomes info (debug with the InfoAsDebug option, which Arbor's nodes use
// for protoactor), Warn up to Error becomes warn, Error and above become
// error.
// The record's message becomes zerolog's message field.
//
// Attributes become zerolog fields of the matching type: strings, integers,
// floats, booleans, durations (Dur) and times (Time). An error value is
// written with AnErr, a zerolog.LogObjectMarshaler as an object, a
// fmt.Stringer through its String method, anything else through zerolog's
// Interface (JSON). slog.LogValuer values are resolved first.
//
// Groups become nested objects: slog.Group("peer", "host", h, "port", p)
// is written as "peer":{"host":...,"port":...}, and attributes logged after
// WithGroup("peer") land inside "peer" in the same way. As in the slog
// handlers of the standard library, an attribute with an empty key is
// dropped, a group with an empty key is inlined into its parent, and a group
// with no attributes is left out.
//
// The record's time is not written: the zerolog logger stamps its events
// itself when it was built with Timestamp(). The record's source position is
// not written either; use zerolog's Caller if needed.
//
// # Guarantees
//
// Enabled reports false, and Handle writes nothing, for a level that the
// zerolog logger or zerolog.GlobalLevel filters out. The handler holds no
// mutable state: handlers derived with WithAttrs and WithGroup are
// independent values, and all of them may be used from many goroutines at
// once, as far as the zerolog logger's writer allows.
package logbridge
