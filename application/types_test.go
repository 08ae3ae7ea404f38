package application_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestRestartTypes checks OTP's consequences of an application's top
// process dying by itself, for each restart type and a few reasons.
func TestRestartTypes(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		typ    application.RestartType
		reason error
		ends   bool // the node (controller) terminates
	}{
		{application.Permanent, actor.Normal, true},
		{application.Permanent, boom, true},
		{application.Transient, actor.Normal, false},
		{application.Transient, actor.Shutdown, true}, // e.g. a supervisor past its intensity
		{application.Transient, boom, true},
		{application.Temporary, boom, false},
		{application.Temporary, actor.Normal, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String()+"/"+tt.reason.Error(), func(t *testing.T) {
			n, c := newController(t)
			ctx := ctxT(t)
			ev := newEvents()
			for _, s := range []application.Spec{spec("other", ev), spec("victim", ev)} {
				if err := c.Load(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Start(ctx, "other", application.Temporary); err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx, "victim", tt.typ); err != nil {
				t.Fatal(err)
			}
			ev.expect(t, "start:other", "start:victim")
			terminated := c.Terminated()
			if err := n.Send(topOf(t, c, "victim"), die{reason: tt.reason}); err != nil {
				t.Fatal(err)
			}
			// The master runs PrepStop and Stop when the top dies by itself.
			ev.expect(t, "prep_stop:victim", "stop:victim")
			if tt.ends {
				// The others are stopped, then the controller exits.
				ev.expect(t, "prep_stop:other", "stop:other")
				r := <-terminated
				var ee *application.ExitError
				if !errors.As(r, &ee) || ee.App != "victim" || ee.Type != tt.typ || !errors.Is(ee.Reason, tt.reason) {
					t.Fatalf("controller exited with %v, want *ExitError for victim", r)
				}
				return
			}
			testkit.Eventually(t, 5*time.Second, func() error {
				if got := running(t, c); !slices.Equal(got, []string{"other"}) {
					return fmt.Errorf("running %v, want [other]", got)
				}
				return nil
			})
			select {
			case r := <-terminated:
				t.Fatalf("controller exited: %v", r)
			default:
			}
		})
	}
}
