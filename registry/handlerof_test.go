package registry_test

import (
	"testing"
	"time"

	"github.com/arbor-otp/arbor/registry"
)

func TestEventHandlerOf(t *testing.T) {
	h1, h2 := &struct{ a int }{}, &struct{ b int }{}
	if got := registry.EventHandlerOf(); got != nil {
		t.Errorf("no options: %v", got)
	}
	if got := registry.EventHandlerOf(registry.WithClock(time.Now), nil); got != nil {
		t.Errorf("a clock and a nil option: %v", got)
	}
	if got := registry.EventHandlerOf(registry.WithEventHandler(h1), registry.WithEventHandler(h2)); got != h2 {
		t.Errorf("two handlers: %v, want the last", got)
	}
}
