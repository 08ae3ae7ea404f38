package behaviour

import "errors"

// Errors of the behaviours. Compare with errors.Is.
var (
	// ErrNoHandler is the exit reason of a server that got a call, cast or
	// continue it has no handler for.
	ErrNoHandler = errors.New("behaviour: no handler for message")

	// ErrHandlerExists: an event handler with this id is installed.
	ErrHandlerExists = errors.New("behaviour: event handler already added")
	// ErrHandlerNotFound: no event handler with this id is installed (or
	// it has no HandleCall, for CallHandler).
	ErrHandlerNotFound = errors.New("behaviour: event handler not found")
	// ErrNoOwner: a supervised event handler was asked for with the zero
	// PID as its owner.
	ErrNoOwner = errors.New("behaviour: supervised event handler needs an owner")
	// ErrNilHandler: AddHandler, AddSupervisedHandler, SwapHandler or
	// SwapSupervisedHandler was given a nil EventHandler (nothing changes).
	ErrNilHandler = errors.New("behaviour: nil event handler")
)
