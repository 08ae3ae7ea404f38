package sys

import (
	"errors"

	"github.com/arbor-otp/arbor/actor"
)

var (
	// ErrNotLocal is returned for a PID of another node: sys reaches the
	// processes of the node it is given.
	ErrNotLocal = errors.New("sys: process of another node")
	// ErrStatisticsOff is returned by Statistics for a process whose
	// statistics are not on (turn them on with SetStatistics).
	ErrStatisticsOff = errors.New("sys: statistics off")
	// ErrNoTopSupervisor is an AppTree's Err for an application that runs
	// without a top supervisor.
	ErrNoTopSupervisor = errors.New("sys: application has no top supervisor")
	// ErrUnsupported is returned when the process does not support the
	// operation: GetState of a process that is not an actor.SysStater,
	// ReplaceState of one whose state cannot be replaced (event managers,
	// supervisors, plain processes). It is actor.ErrSysUnsupported.
	ErrUnsupported = actor.ErrSysUnsupported
	// ErrStateType is returned by GetStateAs and ReplaceState when the
	// process's state is not of the type asked for. It is
	// actor.ErrSysStateType.
	ErrStateType = actor.ErrSysStateType
)

var (
	// ErrNotEncodable is returned when what a remote sys operation must
	// send is not a protobuf message: a ReplaceState whose new state is
	// not one, a Trace with TraceTo (a logger cannot cross nodes), or the
	// state of a remote process whose state is not one (GetState).
	ErrNotEncodable = errors.New("sys: cannot cross nodes: not a protobuf message")
	// ErrStateChanged is returned by ReplaceState of a remote process whose
	// state kept changing between reading it and replacing it.
	ErrStateChanged = errors.New("sys: remote state changed during replace")
	// ErrNotServed is returned for a remote process whose node does not
	// serve remote sys (Serve was not called there).
	ErrNotServed = errors.New("sys: node does not serve remote sys")

	// ErrNoRegistry is returned by ScopesOn for a node that serves no
	// registry (Serve without ServeRegistry).
	ErrNoRegistry = errors.New("sys: node serves no registry")
	// ErrBadArgument is returned for an argument out of range: an
	// unknown Order, a listing limit outside 1 to MaxListLimit.
	ErrBadArgument = errors.New("sys: bad argument")

	errBadRequest = errors.New("sys: malformed remote request")
)
