package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	module    = "github.com/arbor-otp/arbor"
	consulAPI = "github.com/hashicorp/consul/api"
)

// layers lists the layered packages of DESIGN.md §1, lowest first. A
// package belongs to the row of its longest matching prefix.
var layers = []string{
	"internal",
	"actor",
	"behaviour",
	"supervision",
	"cluster",
	"cluster/consul",
	"registry",
	"cluster/singleton",
	"application",
	"sys",
	"observer",
}

// topDirs hold the programs and benchmarks that sit above every layer.
var topDirs = []string{"examples", "bench"}

// top is the layer of examples/ and bench/.
var top = len(layers)

// unknown is the layer of a package that fits no row.
const unknown = -1

// pkg is the part of `go list -json` output the rules need; paths are
// relative to the module root, except for imports outside the module.
type pkg struct {
	ImportPath  string
	Imports     []string
	TestImports []string
	Error       *struct{ Err string }
}

// layerOf returns the layer of rel, a path relative to the module root.
func layerOf(rel string) int {
	for _, d := range topDirs {
		if within(rel, d) {
			return top
		}
	}
	best, bestLen := unknown, -1
	for i, l := range layers {
		if within(rel, l) && len(l) > bestLen {
			best, bestLen = i, len(l)
		}
	}
	return best
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// relative returns the module-relative path of an Arbor import path.
func relative(importPath string) (string, bool) {
	if importPath == module {
		return ".", true
	}
	return strings.CutPrefix(importPath, module+"/")
}

func layerName(l int) string {
	switch l {
	case top:
		return "examples/bench"
	case unknown:
		return "no layer"
	default:
		return layers[l]
	}
}

// violations returns one line for every import of pkgs that breaks a rule
// of the package documentation, sorted.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		from := layerOf(rel)
		if from == unknown {
			out = append(out, fmt.Sprintf("%s: package fits no layer of DESIGN.md §1; add it to archtest and to the design", rel))
			continue
		}
		check := func(imports []string, inTest bool) {
			for _, imp := range imports {
				if within(imp, consulAPI) && !within(rel, "cluster/consul") {
					out = append(out, fmt.Sprintf("%s imports %s: only cluster/consul may", rel, imp))
					continue
				}
				irel, ok := relative(imp)
				if !ok {
					continue
				}
				to := layerOf(irel)
				switch {
				case to == unknown:
					// Reported where that package itself is listed.
				case to == top && from != top:
					out = append(out, fmt.Sprintf("%s imports %s: nothing imports examples or bench", rel, irel))
				case from == top && to == 0 && !inTest:
					out = append(out, fmt.Sprintf("%s imports %s: examples and bench use the public API only", rel, irel))
				case to > from:
					out = append(out, fmt.Sprintf("%s (%s) imports %s (%s): imports must point down the layers",
						rel, layerName(from), irel, layerName(to)))
				}
			}
		}
		check(p.Imports, false)
		check(p.TestImports, true)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestLayerOf(t *testing.T) {
	tests := []struct {
		rel  string
		want int
	}{
		{"internal", 0},
		{"internal/testkit", 0},
		{"actor", 1},
		{"actor/internal/mailbox", 1},
		{"behaviour", 2},
		{"supervision", 3},
		{"cluster", 4},
		{"cluster/wire", 4},
		{"cluster/consul", 5},
		{"cluster/consul/internal/x", 5},
		{"registry", 6},
		{"cluster/singleton", 7},
		{"application", 8},
		{"sys", 9},
		{"observer", 10},
		{"examples/hello", top},
		{"bench", top},
		{"bench/compare", top},
		{".", unknown},
		{"actors", unknown},
		{"clusterx", unknown},
		{"tools/foo", unknown},
	}
	for _, tt := range tests {
		if got := layerOf(tt.rel); got != tt.want {
			t.Errorf("layerOf(%q) = %s, want %s", tt.rel, layerName(got), layerName(tt.want))
		}
	}
}

func TestViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		pkg  pkg
		want []string
	}{
		{
			name: "downward and sideways imports are fine",
			pkg: pkg{ImportPath: m("registry"), Imports: []string{
				"fmt", m("actor"), m("behaviour"), m("supervision"), m("cluster"), m("registry/internal/state"), m("internal/ids"),
			}},
		},
		{
			name: "upward import",
			pkg:  pkg{ImportPath: m("actor"), Imports: []string{m("behaviour")}},
			want: []string{"actor (actor) imports behaviour (behaviour): imports must point down the layers"},
		},
		{
			name: "upward import from an in-package test",
			pkg:  pkg{ImportPath: m("supervision"), TestImports: []string{m("application")}},
			want: []string{"supervision (supervision) imports application (application): imports must point down the layers"},
		},
		{
			name: "cluster does not import its consul provider",
			pkg:  pkg{ImportPath: m("cluster"), Imports: []string{m("cluster/consul")}},
			want: []string{"cluster (cluster) imports cluster/consul (cluster/consul): imports must point down the layers"},
		},
		{
			name: "registry may import the consul provider, singleton the registry",
			pkg:  pkg{ImportPath: m("cluster/singleton"), Imports: []string{m("registry"), m("cluster/consul")}},
		},
		{
			name: "internal does not import actor",
			pkg:  pkg{ImportPath: m("internal/wire"), Imports: []string{m("actor")}},
			want: []string{"internal/wire (internal) imports actor (actor): imports must point down the layers"},
		},
		{
			name: "consul api outside cluster/consul",
			pkg:  pkg{ImportPath: m("cluster/singleton"), Imports: []string{consulAPI}},
			want: []string{"cluster/singleton imports github.com/hashicorp/consul/api: only cluster/consul may"},
		},
		{
			name: "consul api in cluster/consul",
			pkg:  pkg{ImportPath: m("cluster/consul"), Imports: []string{consulAPI, consulAPI + "/watch", m("cluster")}},
		},
		{
			name: "examples use public packages",
			pkg:  pkg{ImportPath: m("examples/hello"), Imports: []string{m("application"), m("actor")}, TestImports: []string{m("internal/testkit")}},
		},
		{
			name: "examples do not use internal packages",
			pkg:  pkg{ImportPath: m("examples/hello"), Imports: []string{m("internal/ids")}},
			want: []string{"examples/hello imports internal/ids: examples and bench use the public API only"},
		},
		{
			name: "nothing imports examples",
			pkg:  pkg{ImportPath: m("application"), Imports: []string{m("examples/hello")}},
			want: []string{"application imports examples/hello: nothing imports examples or bench"},
		},
		{
			name: "package outside the table",
			pkg:  pkg{ImportPath: m("util")},
			want: []string{"util: package fits no layer of DESIGN.md §1; add it to archtest and to the design"},
		},
		{
			name: "packages of other modules are ignored",
			pkg:  pkg{ImportPath: "example.com/other", Imports: []string{m("application")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations([]pkg{tt.pkg})
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestImportDirection checks the packages of the module as they are now.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("go list found no package in the module")
	}
	for _, p := range pkgs {
		if p.Error != nil {
			// A broken package fails its own build; its imports may be
			// partial, so the check below is as good as it gets.
			t.Logf("%s: %s", p.ImportPath, p.Error.Err)
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// listPackages runs go list over the whole module from its root.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", root, err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// moduleRoot returns the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		t.Fatalf("go env GOMOD: not inside a module (%q)", gomod)
	}
	return root
}
