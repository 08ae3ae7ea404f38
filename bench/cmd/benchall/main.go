// Command benchall builds and runs every system's benchmark program several
// times, interleaved, and reports the medians side by side as ratios to
// Arbor: a table on stdout, bench/RESULTS.md, raw JSON lines and one PNG bar
// chart per workload group.
//
//	cd bench && go run ./cmd/benchall          # full run, 5 runs per system
//	cd bench && go run ./cmd/benchall -quick   # CI: tiny counts, 1 run
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/bench/internal/metrics"
)

// Systems in column order. Go systems live in systems/<name>; erlang is an
// escript.
var allSystems = []string{"arbor", "protoactor", "floor", "erlang", "ergo", "hollywood", "goakt"}

type result struct {
	values map[string][]float64 // metric -> one value per run
	na     map[string]string    // metric -> reason
	info   []metrics.Line
	failed string // why the system could not run at all
}

func main() {
	quick := flag.Bool("quick", false, "tiny counts, one run (CI)")
	runs := flag.Int("runs", 0, "runs per system (default 5, 1 with -quick)")
	only := flag.String("systems", strings.Join(allSystems, ","), "systems to run")
	out := flag.String("out", "", "results file (default RESULTS.md, or RESULTS-quick.md with -quick)")
	install := flag.Bool("install", true, "apt-get install erlang-nox when erl is missing")
	flag.Parse()
	if *runs == 0 {
		*runs = 5
		if *quick {
			*runs = 1
		}
	}
	if *out == "" {
		*out = "RESULTS.md"
		if *quick {
			*out = "RESULTS-quick.md"
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fatal("run benchall from the bench directory (cd bench && go run ./cmd/benchall)")
	}
	env := collectEnv()
	env.loadStart = loadavg()
	env.quick = *quick
	env.runs = *runs
	systems := strings.Split(*only, ",")

	tmp, err := os.MkdirTemp("", "benchall")
	if err != nil {
		fatal(err.Error())
	}
	defer os.RemoveAll(tmp)

	results := map[string]*result{}
	cmds := map[string][]string{}
	for _, s := range systems {
		results[s] = &result{values: map[string][]float64{}, na: map[string]string{}}
		if s == "erlang" {
			if reason := ensureErlang(*install); reason != "" {
				results[s].failed = reason
				continue
			}
			env.otp = erlangVersion()
			cmds[s] = []string{"escript", filepath.Join("systems", "erlang", "bench.escript")}
			continue
		}
		bin := filepath.Join(tmp, s)
		fmt.Fprintf(os.Stderr, "building %s\n", s)
		b, err := exec.Command("go", "build", "-o", bin, "./systems/"+s).CombinedOutput()
		if err != nil {
			results[s].failed = "build failed: " + firstLines(string(b), 3)
			continue
		}
		cmds[s] = []string{bin}
	}

	raw, err := os.Create(rawPath(*quick))
	if err != nil {
		fatal(err.Error())
	}
	defer raw.Close()
	timeout := 10 * time.Minute
	if *quick {
		timeout = 2 * time.Minute
	}
	for run := 1; run <= *runs; run++ {
		for _, s := range systems {
			cmd, ok := cmds[s]
			if !ok {
				continue
			}
			args := slices.Clone(cmd[1:])
			if *quick {
				args = append(args, "-quick")
			}
			fmt.Fprintf(os.Stderr, "run %d/%d: %s\n", run, *runs, s)
			lines, err := runOne(cmd[0], args, timeout)
			r := results[s]
			for _, l := range lines {
				l.System = s
				b, _ := json.Marshal(struct {
					Run int `json:"run"`
					metrics.Line
				}{run, l})
				fmt.Fprintln(raw, string(b))
				switch {
				case l.Info != "":
					if run == 1 {
						r.info = append(r.info, l)
					}
				case l.NA != "":
					r.na[l.Metric] = l.NA
				case l.Metric != "":
					r.values[l.Metric] = append(r.values[l.Metric], l.Value)
				}
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "  %s: %v\n", s, err)
				for _, m := range metrics.All {
					if _, ok := r.values[m.Name]; !ok && r.na[m.Name] == "" {
						r.na[m.Name] = "run failed: " + firstLines(err.Error(), 2)
					}
				}
			}
		}
	}
	env.loadEnd = loadavg()
	env.date = time.Now().UTC()

	t := buildTable(systems, results)
	fmt.Println(t.text())
	charts, err := writeCharts(t, *quick)
	if err != nil {
		fmt.Fprintln(os.Stderr, "charts:", err)
	}
	if err := os.WriteFile(*out, []byte(renderMarkdown(env, t, results, systems, charts)), 0o644); err != nil {
		fatal(err.Error())
	}
	fmt.Fprintf(os.Stderr, "wrote %s, %s and %d charts\n", *out, rawPath(*quick), len(charts))
}

func rawPath(quick bool) string {
	if quick {
		return filepath.Join("results", "raw-quick.jsonl")
	}
	return filepath.Join("results", "raw.jsonl")
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "benchall:", msg)
	os.Exit(1)
}

func firstLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, " / ")
}

// runOne runs a program and parses its JSON lines.
func runOne(name string, args []string, timeout time.Duration) ([]metrics.Line, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var lines []metrics.Line
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l metrics.Line
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return lines, fmt.Errorf("%v: %s", err, firstLines(stderr.String(), 3))
	}
	return lines, nil
}

// ensureErlang returns "" when erl is usable, else why not.
func ensureErlang(install bool) string {
	if _, err := exec.LookPath("escript"); err == nil {
		return ""
	}
	if !install {
		return "erl not installed (run without -install=false to apt-get install erlang-nox)"
	}
	fmt.Fprintln(os.Stderr, "erl missing: apt-get update && apt-get install -y erlang-nox")
	prefix := []string{}
	if os.Geteuid() != 0 {
		prefix = []string{"sudo", "-n"}
	}
	for _, args := range [][]string{{"apt-get", "update"}, {"apt-get", "install", "-y", "erlang-nox"}} {
		full := append(slices.Clone(prefix), args...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "installing erlang-nox failed: " + firstLines(string(b), 2)
		}
	}
	if _, err := exec.LookPath("escript"); err != nil {
		return "erlang-nox installed but escript not found"
	}
	return ""
}

func erlangVersion() string {
	b, err := exec.Command("erl", "-noshell", "-eval",
		`io:format("OTP ~s, ERTS ~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().`).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

type envInfo struct {
	date               time.Time
	quick              bool
	runs               int
	nproc              int
	cpu, mem, kernel   string
	goVersion, otp     string
	loadStart, loadEnd string
}

func collectEnv() envInfo {
	e := envInfo{nproc: runtime.NumCPU(), otp: "not run"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				e.cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				e.mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.kernel = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("go", "version").Output(); err == nil {
		e.goVersion = strings.TrimSpace(string(b))
	}
	return e
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
