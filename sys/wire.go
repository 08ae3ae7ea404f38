package sys

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/sys/internal/syspb"
)

// The conversions between sys's values and their wire form (remote.go).
// Every decoder checks what it reads: a malformed message is an error,
// never a panic.

func encodePIDs(pids []actor.PID) [][]byte {
	out := make([][]byte, len(pids))
	for i, p := range pids {
		out[i] = cluster.MarshalPID(p)
	}
	return out
}

// decodePID decodes a PID; an empty one is the zero PID.
func decodePID(b []byte) (actor.PID, error) {
	if len(b) == 0 {
		return actor.PID{}, nil
	}
	return cluster.UnmarshalPID(b)
}

func decodePIDs(bs [][]byte) ([]actor.PID, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	out := make([]actor.PID, len(bs))
	for i, b := range bs {
		p, err := cluster.UnmarshalPID(b)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// encodeState puts a state on the wire: a protobuf message crosses, any
// other state is marked not encodable.
func encodeState(v any) *syspb.State {
	m, ok := v.(proto.Message)
	if !ok {
		return &syspb.State{}
	}
	a, err := anypb.New(m)
	if err != nil {
		return &syspb.State{}
	}
	return &syspb.State{Value: a, Encodable: true}
}

// decodeState returns the state a reply carries; ok is false for a state
// that could not cross.
func decodeState(s *syspb.State) (v any, ok bool, err error) {
	if s == nil || !s.GetEncodable() {
		return nil, false, nil
	}
	if s.GetValue() == nil {
		return nil, false, errors.New("encodable state without a value")
	}
	m, err := s.GetValue().UnmarshalNew()
	if err != nil {
		return nil, false, fmt.Errorf("decode state %s: %w", s.GetValue().GetTypeUrl(), err)
	}
	return m, true, nil
}

func encodeStats(st *actor.SysStats) *syspb.Stats {
	if st == nil {
		return nil
	}
	return &syspb.Stats{
		SinceUnixNano: st.Since.UnixNano(),
		MessagesIn:    st.MessagesIn,
		RepliesOut:    st.RepliesOut,
		HandlerNs:     int64(st.HandlerTime),
	}
}

func decodeStats(s *syspb.Stats) *actor.SysStats {
	if s == nil {
		return nil
	}
	return &actor.SysStats{
		Since:       time.Unix(0, s.GetSinceUnixNano()),
		MessagesIn:  s.GetMessagesIn(),
		RepliesOut:  s.GetRepliesOut(),
		HandlerTime: time.Duration(s.GetHandlerNs()),
	}
}

func encodeStatus(st Status) *syspb.Status {
	out := &syspb.Status{
		Pid:             cluster.MarshalPID(st.PID),
		Name:            st.Name,
		Behaviour:       st.Behaviour,
		Suspended:       st.Mode == Suspended,
		QueueLen:        int64(st.QueueLen),
		Links:           encodePIDs(st.Links),
		Monitors:        encodePIDs(st.Monitors),
		MonitoredBy:     encodePIDs(st.MonitoredBy),
		TrapExit:        st.TrapExit,
		StartedUnixNano: st.Started.UnixNano(),
		UptimeNs:        int64(st.Uptime),
		Memory:          int64(st.Memory),
		Tracing:         st.Tracing,
		Stats:           encodeStats(st.Stats),
	}
	if !st.Parent.IsZero() {
		out.Parent = cluster.MarshalPID(st.Parent)
	}
	if st.State != nil {
		out.State = encodeState(st.State)
	}
	return out
}

// decodeStatus is encodeStatus's inverse. A state that could not cross is
// left nil (see Status.State).
func decodeStatus(s *syspb.Status) (Status, error) {
	var (
		st  Status
		err error
	)
	if st.PID, err = decodePID(s.GetPid()); err != nil {
		return Status{}, fmt.Errorf("pid: %w", err)
	}
	if st.Parent, err = decodePID(s.GetParent()); err != nil {
		return Status{}, fmt.Errorf("parent: %w", err)
	}
	if st.Links, err = decodePIDs(s.GetLinks()); err != nil {
		return Status{}, fmt.Errorf("links: %w", err)
	}
	if st.Monitors, err = decodePIDs(s.GetMonitors()); err != nil {
		return Status{}, fmt.Errorf("monitors: %w", err)
	}
	if st.MonitoredBy, err = decodePIDs(s.GetMonitoredBy()); err != nil {
		return Status{}, fmt.Errorf("monitored by: %w", err)
	}
	if st.State, _, err = decodeState(s.GetState()); err != nil {
		return Status{}, err
	}
	if s.GetQueueLen() < 0 || s.GetMemory() < 0 {
		return Status{}, errors.New("negative queue length or memory")
	}
	st.Name, st.Behaviour = s.GetName(), s.GetBehaviour()
	if s.GetSuspended() {
		st.Mode = Suspended
	}
	st.QueueLen, st.Memory = int(s.GetQueueLen()), int(s.GetMemory())
	st.TrapExit, st.Tracing = s.GetTrapExit(), s.GetTracing()
	st.Started = time.Unix(0, s.GetStartedUnixNano())
	st.Uptime = time.Duration(s.GetUptimeNs())
	st.Stats = decodeStats(s.GetStats())
	return st, nil
}

// encodeError maps an operation's error to its wire kind.
func encodeError(err error) *syspb.Reply {
	kind := syspb.ErrorKind_ERROR_KIND_OTHER
	switch {
	case errors.Is(err, actor.NoProc):
		kind = syspb.ErrorKind_ERROR_KIND_NOPROC
	case errors.Is(err, ErrUnsupported):
		kind = syspb.ErrorKind_ERROR_KIND_UNSUPPORTED
	case errors.Is(err, ErrStateType):
		kind = syspb.ErrorKind_ERROR_KIND_STATE_TYPE
	case errors.Is(err, ErrStatisticsOff):
		kind = syspb.ErrorKind_ERROR_KIND_STATISTICS_OFF
	case errors.Is(err, ErrNotEncodable):
		kind = syspb.ErrorKind_ERROR_KIND_NOT_ENCODABLE
	case errors.Is(err, ErrStateChanged):
		kind = syspb.ErrorKind_ERROR_KIND_STATE_CHANGED
	case errors.Is(err, errBadRequest):
		kind = syspb.ErrorKind_ERROR_KIND_BAD_REQUEST
	case errors.Is(err, ErrNoRegistry):
		kind = syspb.ErrorKind_ERROR_KIND_NO_REGISTRY
	}
	return &syspb.Reply{Result: &syspb.Reply_Error{Error: &syspb.Error{Kind: kind, Text: err.Error()}}}
}

// decodeError maps a wire error back to the sentinel it stands for, with
// the remote text.
func decodeError(e *syspb.Error) error {
	var base error
	switch e.GetKind() {
	case syspb.ErrorKind_ERROR_KIND_NOPROC:
		base = actor.NoProc
	case syspb.ErrorKind_ERROR_KIND_UNSUPPORTED:
		base = ErrUnsupported
	case syspb.ErrorKind_ERROR_KIND_STATE_TYPE:
		base = ErrStateType
	case syspb.ErrorKind_ERROR_KIND_STATISTICS_OFF:
		base = ErrStatisticsOff
	case syspb.ErrorKind_ERROR_KIND_NOT_ENCODABLE:
		base = ErrNotEncodable
	case syspb.ErrorKind_ERROR_KIND_STATE_CHANGED:
		base = ErrStateChanged
	case syspb.ErrorKind_ERROR_KIND_BAD_REQUEST:
		base = errBadRequest
	case syspb.ErrorKind_ERROR_KIND_NO_REGISTRY:
		base = ErrNoRegistry
	default:
		return &RemoteError{Text: e.GetText()}
	}
	return &RemoteError{Text: e.GetText(), err: base}
}

// RemoteError is an error a sys operation got from the node of the
// process: Text is the remote error's text, and errors.Is matches the
// sentinel it stands for (actor.NoProc, ErrUnsupported, ErrStateType,
// ErrStatisticsOff, ErrNotEncodable, ErrStateChanged, ErrNoRegistry), if
// any.
type RemoteError struct {
	Text string
	err  error
}

func (e *RemoteError) Error() string { return "remote: " + e.Text }

// Unwrap returns the sentinel, or nil.
func (e *RemoteError) Unwrap() error { return e.err }
