package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// seamPath is the package through which actor and cluster meet.
const seamPath = module + "/internal/seam"

// seamNames are the names actor once exported for the cluster transport
// only (issue 12, item 16). They live behind internal/seam now: exported
// again, they would let any program replace a clustered node's transport,
// forge PIDs and Refs, or kill every process of a node.
var seamNames = map[string]bool{
	"NewRemotePID":             true,
	"MakeRef":                  true,
	"Ref.RefID":                true,
	"NewRequest":               true,
	"Request.Cancel":           true,
	"Node.Post":                true,
	"Node.DeliverLocal":        true,
	"Node.DeliverRemoteSignal": true,
	"Node.SetTransport":        true,
	"Node.Transport":           true,
	"Node.KillAll":             true,
	"Transport":                true,
	"RemoteSignal":             true,
	"RemoteCaller":             true,
	"RemoteCaster":             true,
	"SignalKind":               true,
	"SignalExit":               true,
	"SignalLinkExit":           true,
	"SignalLink":               true,
	"SignalUnlink":             true,
	"SignalMonitor":            true,
	"SignalDemonitor":          true,
	"SignalDown":               true,
}

// TestSeamStaysInternal fails if package actor exports one of seamNames
// again, or if the exported API of any public package mentions a type of
// internal/seam (which would hand the seam to users).
func TestSeamStaysInternal(t *testing.T) {
	pkgs := listGoFiles(t)
	checked := 0
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok || within(rel, "internal") || strings.Contains(rel+"/", "/internal/") || layerOf(rel) == top {
			continue
		}
		api := exportedAPI(t, p.Dir, p.GoFiles)
		checked++
		for _, name := range api.names {
			if rel == "actor" && seamNames[name] {
				t.Errorf("actor exports %s: it belongs behind internal/seam (see issue 12, item 16)", name)
			}
		}
		for _, where := range api.seamUses {
			t.Errorf("%s: %s mentions a type of internal/seam in the exported API", rel, where)
		}
	}
	if checked == 0 {
		t.Fatal("found no public package to check")
	}
}

// TestExportedAPI checks the parser the surface test relies on.
func TestExportedAPI(t *testing.T) {
	const src = `package p

import (
	"context"
	s "github.com/arbor-otp/arbor/internal/seam"
)

type Node struct{ t s.Transport[int, int] }
type hidden struct{}
type Open struct{ T s.SignalKind }
func (n *Node) SetTransport(t s.Transport[int, int]) {}
func (n *Node) Stop(ctx context.Context) error { return nil }
func (hidden) Exported() {}
func (n *Node) quiet() {}
func NewRemotePID() int { return 0 }
var Kinds []s.SignalKind
const SignalExit, signalLocal = 1, 2
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	api := exportedAPI(t, dir, []string{"p.go"})
	wantNames := []string{"Kinds", "NewRemotePID", "Node", "Node.SetTransport", "Node.Stop", "Open", "SignalExit"}
	if !slices.Equal(api.names, wantNames) {
		t.Errorf("names = %q, want %q", api.names, wantNames)
	}
	wantUses := []string{"Kinds", "Node.SetTransport", "Open"}
	if !slices.Equal(api.seamUses, wantUses) {
		t.Errorf("seam uses = %q, want %q", api.seamUses, wantUses)
	}
}

type surface struct {
	names    []string // exported names, methods as Type.Method, sorted
	seamUses []string // exported names whose declaration mentions internal/seam
}

// exportedAPI parses the given files of dir and returns their exported
// surface.
func exportedAPI(t *testing.T, dir string, files []string) surface {
	t.Helper()
	fset := token.NewFileSet()
	var s surface
	for _, f := range files {
		file, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		seamName := ""
		for _, imp := range file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == seamPath {
				seamName = "seam"
				if imp.Name != nil {
					seamName = imp.Name.Name
				}
			}
		}
		add := func(name string, node ast.Node) {
			s.names = append(s.names, name)
			if seamName != "" && mentions(node, seamName) {
				s.seamUses = append(s.seamUses, name)
			}
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					add(d.Name.Name, d.Type)
					continue
				}
				if recv := recvName(d.Recv.List[0].Type); ast.IsExported(recv) {
					add(recv+"."+d.Name.Name, d.Type)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch sp := spec.(type) {
					case *ast.TypeSpec:
						if sp.Name.IsExported() {
							add(sp.Name.Name, exportedPart(sp.Type))
						}
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								var typ ast.Node = &ast.Ident{Name: "_"}
								if sp.Type != nil {
									typ = sp.Type
								}
								add(n.Name, typ)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(s.names)
	slices.Sort(s.seamUses)
	return s
}

// exportedPart drops the unexported fields of a struct type: they are no
// part of the API.
func exportedPart(typ ast.Expr) ast.Node {
	st, ok := typ.(*ast.StructType)
	if !ok {
		return typ
	}
	out := &ast.FieldList{}
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 || slices.ContainsFunc(f.Names, (*ast.Ident).IsExported) {
			out.List = append(out.List, f)
		}
	}
	return out
}

// mentions reports whether node refers to a name of the package imported
// as pkgName.
func mentions(node ast.Node, pkgName string) bool {
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkgName {
				found = true
			}
		}
		return !found
	})
	return found
}

// recvName returns the type name of a method receiver.
func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.IndexListExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

type goFiles struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

// listGoFiles lists the module's packages with their non-test Go files.
func listGoFiles(t *testing.T) []goFiles {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,GoFiles", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []goFiles
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goFiles
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
