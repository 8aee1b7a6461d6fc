package parquetsink

import (
	"fmt"

	"github.com/parquet-go/parquet-go"

	"m365export/sinks"
)

// node is one schema node of the decoder: a column, a struct member, a
// list element or one of the sink's own columns. Leaves carry their column
// index in the Parquet schema; every node knows the range of leaves under it
// (Parquet orders leaves depth first, so they are contiguous).
type node struct {
	path   string // dotted column path, for errors and the dictionary
	idx    int    // index among its parent's fields
	source string // JSON member name
	id     int    // struct nodes: index into the decoder's key predictions
	typ    sinks.Type
	leaf   int // leaf column index (scalar types)
	first  int // first leaf under the node
	end    int // one past the last leaf under the node
	def    int // definition level when the node is present
	rep    int // repetition level of the node's values
	byKey  map[string]*node
	fields []*node // struct members in Parquet order
	elem   *node   // list element
	// repList is the repetition level of a list's second and later
	// elements.
	repList int
	// DateTimeTimeZone members.
	dtDateTime, dtTimeZone, dtUTC *node
}

// compiled is a table schema ready to decode and write.
type compiled struct {
	schema  *parquet.Schema
	root    *node // the record: a struct of the declared columns
	owner   int   // leaf indexes of the sink's columns
	runID   int
	exptAt  int
	extra   int
	nLeaves int
	version int
	structs int // struct nodes, numbered by node.id
}

func leafNode(t sinks.Type) parquet.Node {
	switch t {
	case sinks.String, sinks.JSON:
		return parquet.String()
	case sinks.Int64:
		return parquet.Int(64)
	case sinks.Float64:
		return parquet.Leaf(parquet.DoubleType)
	case sinks.Bool:
		return parquet.Leaf(parquet.BooleanType)
	case sinks.Timestamp:
		return parquet.Timestamp(parquet.Microsecond)
	}
	return nil
}

// parquetNode builds the Parquet node of a column (always optional).
func parquetNode(c *sinks.Column) parquet.Node {
	switch c.Type {
	case sinks.Struct:
		g := parquet.Group{}
		for i := range c.Fields {
			g[c.Fields[i].Name] = parquetNode(&c.Fields[i])
		}
		return parquet.Optional(g)
	case sinks.List:
		return parquet.Optional(parquet.List(parquetNode(c.Elem)))
	case sinks.DateTimeTimeZone:
		return parquet.Optional(parquet.Group{
			"dateTime": parquet.Optional(parquet.String()),
			"timeZone": parquet.Optional(parquet.String()),
			"utc":      parquet.Optional(parquet.Timestamp(parquet.Microsecond)),
		})
	default:
		return parquet.Optional(leafNode(c.Type))
	}
}

// compile turns a validated schema into its Parquet schema and decoder
// tree. name is the Parquet message name.
func compile(name string, s *sinks.Schema) (*compiled, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	g := parquet.Group{}
	for i := range s.Columns {
		g[s.Columns[i].Name] = parquetNode(&s.Columns[i])
	}
	g[sinks.ColOwner] = parquet.Optional(parquet.String())
	g[sinks.ColRunID] = parquet.Optional(parquet.String())
	g[sinks.ColExportedAt] = parquet.Optional(parquet.Timestamp(parquet.Microsecond))
	g[sinks.ColExtra] = parquet.Optional(parquet.String())
	c := &compiled{schema: parquet.NewSchema(name, g), version: s.Version}

	root := &node{typ: sinks.Struct, byKey: map[string]*node{}}
	leaf := 0
	// Walk the Parquet tree in its order and attach our columns by name.
	cols := map[string]*sinks.Column{}
	for i := range s.Columns {
		cols[s.Columns[i].Name] = &s.Columns[i]
	}
	for _, f := range c.schema.Fields() {
		switch f.Name() {
		case sinks.ColOwner, sinks.ColRunID, sinks.ColExportedAt, sinks.ColExtra:
			switch f.Name() {
			case sinks.ColOwner:
				c.owner = leaf
			case sinks.ColRunID:
				c.runID = leaf
			case sinks.ColExportedAt:
				c.exptAt = leaf
			case sinks.ColExtra:
				c.extra = leaf
			}
			leaf++
			continue
		}
		col := cols[f.Name()]
		n := build(col, f, col.Name, 1, 0, &leaf)
		n.idx = len(root.fields)
		n.source = col.SourceName()
		root.fields = append(root.fields, n)
		root.byKey[col.SourceName()] = n
	}
	root.end = leaf
	c.root = root
	var number func(n *node)
	number = func(n *node) {
		if n.byKey != nil {
			n.id = c.structs
			c.structs++
		}
		for _, f := range n.fields {
			number(f)
		}
		if n.elem != nil {
			number(n.elem)
		}
	}
	number(root)
	c.nLeaves = leaf
	if got := len(c.schema.Columns()); got != leaf {
		return nil, fmt.Errorf("schema %s: %d leaves, Parquet has %d", name, leaf, got)
	}
	return c, nil
}

// build makes the decoder node of column col whose Parquet node is pn,
// present at definition level def, repeated at level rep.
func build(col *sinks.Column, pn parquet.Node, path string, def, rep int, leaf *int) *node {
	n := &node{path: path, typ: col.Type, def: def, rep: rep, first: *leaf}
	switch col.Type {
	case sinks.Struct:
		byName := map[string]*sinks.Column{}
		for i := range col.Fields {
			byName[col.Fields[i].Name] = &col.Fields[i]
		}
		n.byKey = map[string]*node{}
		for _, f := range pn.Fields() {
			fc := byName[f.Name()]
			child := build(fc, f, path+"."+fc.Name, def+1, rep, leaf)
			child.idx = len(n.fields)
			child.source = fc.SourceName()
			n.fields = append(n.fields, child)
			n.byKey[fc.SourceName()] = child
		}
	case sinks.List:
		// optional group (LIST) { repeated group list { optional element } }
		elemPN := pn.Fields()[0].Fields()[0]
		n.repList = rep + 1
		n.elem = build(col.Elem, elemPN, path+"[]", def+2, rep+1, leaf)
	case sinks.DateTimeTimeZone:
		for _, f := range pn.Fields() {
			t := sinks.String
			if f.Name() == "utc" {
				t = sinks.Timestamp
			}
			child := &node{path: path + "." + f.Name(), typ: t, def: def + 1, rep: rep, leaf: *leaf, first: *leaf, end: *leaf + 1}
			*leaf++
			switch f.Name() {
			case "dateTime":
				n.dtDateTime = child
			case "timeZone":
				n.dtTimeZone = child
			case "utc":
				n.dtUTC = child
			}
		}
	default:
		n.leaf = *leaf
		*leaf++
	}
	n.end = *leaf
	return n
}
