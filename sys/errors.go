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
