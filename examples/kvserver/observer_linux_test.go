//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

var observerRE = regexp.MustCompile(`observer listening addr=(\S+)`)

// The kvserver serves its observer page beside the kv server, and stops
// cleanly (exit code 0) while a page's event stream is open.
func TestObserverPage(t *testing.T) {
	c := startChild(t, 0, "-listen", "127.0.0.1:0")
	m := observerRE.FindStringSubmatch(c.logText())
	if m == nil {
		t.Fatalf("no observer address in the log:\n%s", c.logText())
	}
	base := "http://" + m[1] + "/"
	c.dial(t).expect("CREATE x", "OK")

	// The kv server answers once it listens, a moment before the
	// controller records kvserver as started: wait for the snapshot to
	// list both applications.
	testkit.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(base + "api/snapshot")
		if err != nil {
			return err
		}
		var s struct {
			Mutations bool
			Apps      []struct{ Name string }
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET api/snapshot: %d, %v", resp.StatusCode, err)
		}
		var apps []string
		for _, a := range s.Apps {
			apps = append(apps, a.Name)
		}
		if strings.Join(apps, ",") != "kv,kvserver" || s.Mutations {
			return fmt.Errorf("snapshot apps %q, mutations %v; want kv,kvserver read-only", apps, s.Mutations)
		}
		return nil
	})

	stream, err := http.Get(base + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	line, err := bufio.NewReader(stream.Body).ReadString('\n')
	if err != nil || line != "event: snapshot\n" {
		t.Fatalf("first line of the event stream: %q, %v", line, err)
	}
	if code := c.stop(t); code != 0 {
		t.Errorf("exit code %d with an event stream open, want 0", code)
	}
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Logf("event stream ended with %v", err)
	}
}
