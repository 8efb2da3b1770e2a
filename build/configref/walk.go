package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Field is one row of a reference table.
type Field struct {
	// Path is the YAML path ("edgeHub.ports.websocket"). A list's element
	// fields follow "[]" ("items[].name"), a map's value fields "<key>"
	// ("pools.<key>.size").
	Path string
	// Keys are Path's JSON keys, for looking up the default; nil when the
	// field sits inside a list or a map, which have no single default.
	Keys []string
	// Type is YAML-ish: string, int, number, bool, duration, list of X,
	// map of X, object.
	Type string
	// Doc is the field's doc comment on one line.
	Doc string
	// Object is set for a struct; its fields are the rows that follow.
	Object bool
}

// Section is one table: a struct-typed top-level field of a root type, or
// (Name "") the root's other fields.
type Section struct {
	Name string // YAML name, "" for the top-level fields
	Doc  string // the field's type doc and its own doc comment
	Rows []Field
}

// typeDecl is a named type of the parsed package.
type typeDecl struct {
	name string
	expr ast.Expr
	doc  string
	// opaque types marshal themselves (a MarshalJSON method): one row, not walked.
	opaque bool
}

// Package is the named types of one parsed Go package.
type Package struct {
	types map[string]*typeDecl
}

// ParsePackage parses the non-test Go files of dir.
func ParsePackage(dir string) (*Package, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	p := &Package{types: map[string]*typeDecl{}}
	var marshalers []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		marshalers = append(marshalers, p.addFile(f)...)
	}
	if len(p.types) == 0 {
		return nil, fmt.Errorf("no Go types in %s", dir)
	}
	for _, m := range marshalers {
		if t, ok := p.types[m]; ok {
			t.opaque = true
		}
	}
	return p, nil
}

// addFile records f's type declarations and returns the receiver type names
// of its MarshalJSON methods.
func (p *Package) addFile(f *ast.File) (marshalers []string) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok != token.TYPE {
				continue
			}
			for _, s := range d.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(d.Specs) == 1 {
					doc = d.Doc
				}
				p.types[ts.Name.Name] = &typeDecl{name: ts.Name.Name, expr: ts.Type, doc: oneLine(doc)}
			}
		case *ast.FuncDecl:
			if d.Recv != nil && len(d.Recv.List) == 1 && d.Name.Name == "MarshalJSON" {
				marshalers = append(marshalers, recvName(d.Recv.List[0].Type))
			}
		}
	}
	return marshalers
}

func recvName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// oneLine joins a comment group's text into one line.
func oneLine(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// Walk returns root's sections: first its non-struct fields, then one per
// struct-typed field. Every field needs a doc comment (a struct-typed one may
// rely on its type's); the error names each field that has none.
func (p *Package) Walk(root string) ([]Section, error) {
	w := &walker{pkg: p, reported: map[string]bool{}, inlining: map[string]bool{}, open: map[string]bool{}}
	fields, err := w.structFields(root)
	if err != nil {
		return nil, err
	}
	w.open[root] = true
	top := Section{}
	var sections []Section
	for _, f := range fields {
		if w.structOf(f.expr) == nil {
			top.Rows = append(top.Rows, w.rows(f, nil, false)...)
			continue
		}
		rows := w.rows(f, nil, true)
		sections = append(sections, Section{Name: rows[0].Path, Doc: rows[0].Doc, Rows: rows[1:]})
	}
	if len(top.Rows) > 0 {
		sections = append([]Section{top}, sections...)
	}
	return sections, errors.Join(w.errs...)
}

// goField is one JSON-visible field of a struct, inline ones flattened.
type goField struct {
	owner, goName, jsonName string // owner is the struct's type name
	expr                    ast.Expr
	doc                     string
}

type walker struct {
	pkg      *Package
	errs     []error
	reported map[string]bool // "Owner.Field" already reported as undocumented
	inlining map[string]bool // structs being flattened, to refuse an inline cycle
	open     map[string]bool // structs whose rows are being walked, to refuse a cycle
}

// structFields lists the JSON fields of the named struct type, as
// encoding/json sees them: unexported and `json:"-"` ones skipped, embedded
// and `json:",inline"` structs flattened.
func (w *walker) structFields(name string) ([]goField, error) {
	td, ok := w.pkg.types[name]
	if !ok {
		return nil, fmt.Errorf("type %s not found", name)
	}
	st, ok := td.expr.(*ast.StructType)
	if !ok {
		return nil, fmt.Errorf("type %s is not a struct", name)
	}
	if w.inlining[name] {
		return nil, fmt.Errorf("type %s inlines itself", name)
	}
	w.inlining[name] = true
	defer delete(w.inlining, name)
	var out []goField
	for _, f := range st.Fields.List {
		fs, err := w.jsonFields(name, f)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (w *walker) jsonFields(owner string, f *ast.Field) ([]goField, error) {
	var tag string
	if f.Tag != nil {
		raw, _ := strconv.Unquote(f.Tag.Value)
		tag = reflect.StructTag(raw).Get("json")
	}
	jsonName, opts, _ := strings.Cut(tag, ",")
	if tag == "-" {
		return nil, nil
	}
	doc := oneLine(f.Doc)
	if doc == "" {
		doc = oneLine(f.Comment)
	}
	inline := jsonName == "" && (len(f.Names) == 0 || slices.Contains(strings.Split(opts, ","), "inline"))
	if inline {
		if name := typeName(f.Type); name != "" && w.structOf(f.Type) != nil {
			return w.structFields(name)
		}
	}
	names := f.Names
	if len(names) == 0 { // embedded non-struct: encoding/json names it after its type
		names = []*ast.Ident{{Name: typeName(f.Type)}}
	}
	var out []goField
	for _, n := range names {
		if !ast.IsExported(n.Name) {
			continue
		}
		jn := jsonName
		if jn == "" {
			jn = n.Name
		}
		out = append(out, goField{owner: owner, goName: n.Name, jsonName: jn, expr: f.Type, doc: doc})
	}
	return out, nil
}

// typeName is the name of a local named type, through one pointer.
func typeName(e ast.Expr) string {
	return recvName(e)
}

// structOf returns the name of the local struct type e is (through a
// pointer), or nil when e is anything else or an opaque type.
func (w *walker) structOf(e ast.Expr) *typeDecl {
	td, ok := w.pkg.types[typeName(e)]
	if !ok || td.opaque {
		return nil
	}
	if _, ok := td.expr.(*ast.StructType); !ok {
		return nil
	}
	return td
}

// rows returns f's row and, for a struct, list of structs or map of structs,
// the rows of the fields inside. section says f is a section, whose doc is
// its type's doc followed by its own.
func (w *walker) rows(f goField, parent *Field, section bool) []Field {
	path, keys := f.jsonName, []string{f.jsonName}
	if parent != nil {
		path = parent.Path + "." + f.jsonName
		keys = nil
		if parent.Keys != nil {
			keys = append(slices.Clone(parent.Keys), f.jsonName)
		}
	}
	typ, elem, sep := w.describe(f.expr)
	row := Field{Path: path, Keys: keys, Type: typ, Doc: f.doc}
	var td *typeDecl
	if elem != "" {
		td = w.pkg.types[elem]
	}
	if td != nil && sep == "" { // a struct: its own doc comes from its type when missing
		row.Object = true
		if section {
			row.Doc = strings.TrimSpace(td.doc + " " + f.doc)
		} else if row.Doc == "" {
			row.Doc = td.doc
		}
	}
	if row.Doc == "" && !w.reported[f.owner+"."+f.goName] {
		w.reported[f.owner+"."+f.goName] = true
		w.errs = append(w.errs, fmt.Errorf("%s.%s (%s) has no doc comment", f.owner, f.goName, path))
	}
	out := []Field{row}
	if td == nil {
		return out
	}
	inner := row
	if sep != "" { // list or map elements: no default to look up
		inner.Path += sep
		inner.Keys = nil
	}
	if w.open[td.name] {
		w.errs = append(w.errs, fmt.Errorf("%s: type %s contains itself", path, td.name))
		return out
	}
	fields, err := w.structFields(td.name)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %w", path, err))
		return out
	}
	w.open[td.name] = true
	defer delete(w.open, td.name)
	for _, sf := range fields {
		out = append(out, w.rows(sf, &inner, false)...)
	}
	return out
}

// describe returns e's YAML-ish type and, when values of e hold a local
// struct type to walk into, that type's name and the path separator of its
// fields ("" for the struct itself, "[]" for list elements, ".<key>" for map
// values).
func (w *walker) describe(e ast.Expr) (typ, elem, sep string) {
	switch e := e.(type) {
	case *ast.StarExpr:
		return w.describe(e.X)
	case *ast.Ident:
		return w.describeIdent(e.Name)
	case *ast.ArrayType:
		if id, ok := e.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return "string", "", "" // encoding/json writes []byte as base64
		}
		t, el, s := w.describe(e.Elt)
		if el != "" && s == "" {
			return "list of " + t, el, "[]"
		}
		return "list of " + t, "", ""
	case *ast.MapType:
		t, el, s := w.describe(e.Value)
		if el != "" && s == "" {
			return "map of " + t, el, ".<key>"
		}
		return "map of " + t, "", ""
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" && e.Sel.Name == "Duration" {
			return "duration", "", ""
		}
		return e.Sel.Name, "", ""
	case *ast.InterfaceType:
		return "any", "", ""
	}
	return fmt.Sprintf("%T", e), "", ""
}

func (w *walker) describeIdent(name string) (typ, elem, sep string) {
	switch name {
	case "string", "bool":
		return name, "", ""
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "int", "", ""
	case "float32", "float64":
		return "number", "", ""
	case "any":
		return "any", "", ""
	}
	td, ok := w.pkg.types[name]
	switch {
	case !ok:
		return name, "", ""
	case td.opaque && name == "Duration":
		return "duration", "", ""
	case td.opaque:
		return strings.ToLower(name[:1]) + name[1:], "", ""
	}
	if _, ok := td.expr.(*ast.StructType); ok {
		return "object", name, ""
	}
	return w.describe(td.expr) // a defined type such as `type Mode string`
}
