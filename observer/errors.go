package observer

import "errors"

var (
	// ErrBadPID is the error of a request whose pid parameter is not a PID
	// of the form <node.index.serial> (or index.serial), or is too long.
	ErrBadPID = errors.New("observer: bad pid")
	// ErrNoProcess is the error of a request about a PID that names no
	// live process of the node.
	ErrNoProcess = errors.New("observer: no such process on this node")
	// ErrMutationsOff is the error of a request that would change a
	// process (kill, suspend, resume, trace) on a Handler made without
	// WithMutations.
	ErrMutationsOff = errors.New("observer: kill, suspend and trace are off (observer.WithMutations turns them on)")
	// ErrUnknownNode is the error of a request whose node parameter
	// names neither this node nor a node it has a session with.
	ErrUnknownNode = errors.New("observer: no such node in the cluster")
	// ErrBadQuery is the error of a request whose query is too long or
	// holds a malformed parameter.
	ErrBadQuery = errors.New("observer: bad query")
)
