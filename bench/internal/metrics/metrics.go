// Package metrics lists the metrics every system program reports and the
// driver tabulates: one name, unit and direction per metric, shared by both
// sides so that a row means the same thing in every column.
package metrics

// Better says which direction of a metric is an improvement.
type Better uint8

const (
	// Lower: smaller values are better (latencies, bytes).
	Lower Better = iota
	// Higher: larger values are better (rates).
	Higher
	// Exact: the value is a correctness count that should be zero; no ratio.
	Exact
)

// String names the direction.
func (b Better) String() string {
	switch b {
	case Lower:
		return "lower"
	case Higher:
		return "higher"
	case Exact:
		return "exact"
	}
	return "unknown"
}

// Metric describes one row of the results table.
type Metric struct {
	Name   string // stable key used in the JSON lines
	Group  string // workload group; one chart per group
	Label  string // row label in the table
	Unit   string // ns, /s, B
	Better Better
}

// Groups in table order.
var Groups = []string{"call", "cast", "spawn", "restart", "registry", "remote"}

// GroupTitle is the heading of each workload group.
var GroupTitle = map[string]string{
	"call":     "(a) call round trip, one caller",
	"cast":     "(b, c) cast throughput until processed",
	"spawn":    "(d) spawn of initialised idle servers",
	"restart":  "(e) supervisor restart latency (one_for_one, kill -> replacement answers)",
	"registry": "(f) names and groups",
	"remote":   "(g) two nodes on loopback",
}

// All is every metric, in table order.
var All = []Metric{
	{"call_p50", "call", "call p50", "ns", Lower},
	{"call_p99", "call", "call p99", "ns", Lower},
	{"call_rate", "call", "calls/s", "/s", Higher},

	{"cast_1to1", "cast", "cast 1→1 msgs/s", "/s", Higher},
	{"cast_4to1", "cast", "cast 4→1 msgs/s", "/s", Higher},

	{"spawn_rate", "spawn", "spawn idle server/s", "/s", Higher},
	{"spawn_stop_rate", "spawn", "spawn+stop/s", "/s", Higher},
	{"idle_bytes", "spawn", "bytes per idle server", "B", Lower},

	{"restart_p50", "restart", "restart p50", "ns", Lower},
	{"restart_p99", "restart", "restart p99", "ns", Lower},
	{"restart_lost", "restart", "restarts lost", "", Exact},

	{"name_register", "registry", "register name/s", "/s", Higher},
	{"name_lookup", "registry", "lookup name/s", "/s", Higher},
	{"name_unregister", "registry", "unregister name/s", "/s", Higher},
	{"group_join", "registry", "group join/s", "/s", Higher},
	{"group_members", "registry", "members of 1k group/s", "/s", Higher},
	{"group_leave", "registry", "group leave/s", "/s", Higher},
	{"group_publish", "registry", "publish to 1k members, all received", "ns", Lower},

	{"remote_call_p50", "remote", "remote call p50", "ns", Lower},
	{"remote_call_p99", "remote", "remote call p99", "ns", Lower},
	{"remote_call_rate", "remote", "remote calls/s", "/s", Higher},
	{"remote_send_rate", "remote", "remote sends/s (until received)", "/s", Higher},
}

// ByName finds a metric.
func ByName(name string) (Metric, bool) {
	for _, m := range All {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// InGroup lists the metrics of a group.
func InGroup(g string) []Metric {
	var out []Metric
	for _, m := range All {
		if m.Group == g {
			out = append(out, m)
		}
	}
	return out
}

// Line is one JSON line a system program prints: a value, a reason the
// metric is not available (NA), or a piece of information (Info/Value).
type Line struct {
	System string  `json:"system"`
	Metric string  `json:"metric,omitempty"`
	Value  float64 `json:"value,omitempty"`
	NA     string  `json:"na,omitempty"`
	Info   string  `json:"info,omitempty"` // "version", "setting"
	Text   string  `json:"text,omitempty"`
}
