package testkit

import (
	"slices"
	"sync"
)

// List is a slice that callbacks and goroutines may append to while the
// test reads it: a recorder of events, in the order they were added. Its
// zero value is an empty list ready to use.
type List[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends v.
func (l *List[T]) Add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// All returns a copy of everything added so far, oldest first.
func (l *List[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// Take returns everything added so far, oldest first, and empties the list.
func (l *List[T]) Take() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.items
	l.items = nil
	return out
}
