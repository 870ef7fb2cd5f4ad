package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/couponbridge/couponbridge/campaign"
)

// configError is a configuration that cannot be used. It lists every
// problem found, one per line, each as "FILE:LINE: KEY.PATH: what is wrong".
// It maps to exit code 2.
type configError struct {
	problems []string
}

func (e *configError) Error() string { return strings.Join(e.problems, "\n") }

// override sets one key from outside the file: the environment or a flag.
type override struct {
	source string // "$COUPONBRIDGE_STORE_URL", "--log-level"
	path   string // the key it sets, "store.url"
	apply  func(*Config)
}

// loadOptions are the sources layered over the file.
type loadOptions struct {
	// getenv reads the environment, for ${VAR} expansion and the
	// COUPONBRIDGE_* overrides; nil means an empty environment.
	getenv func(string) string
	// flags are applied last, in order: only flags the user actually set.
	flags []override
	// unused are the secrets the command does not use (see secretUse);
	// the zero value checks them all.
	unused secretUse
}

// envOverride is an environment variable that overrides a key. The first
// variable of vars that is set wins.
type envOverride struct {
	vars []string
	path string
	set  func(*Config, string)
}

// envOverrides lists the environment variables that override the file.
func envOverrides() []envOverride {
	return []envOverride{
		{[]string{"COUPONBRIDGE_STORE_URL", "WOO_URL"}, "store.url",
			func(c *Config, v string) { c.Store.URL = v }},
		{[]string{"COUPONBRIDGE_STORE_KEY", "WOO_KEY"}, "store.consumer_key",
			func(c *Config, v string) { c.Store.ConsumerKey = v }},
		{[]string{"COUPONBRIDGE_STORE_SECRET", "WOO_SECRET"}, "store.consumer_secret",
			func(c *Config, v string) { c.Store.ConsumerSecret, c.Store.ConsumerSecretFile = Secret(v), "" }},
		{[]string{"COUPONBRIDGE_SMTP_PASSWORD"}, "mail.smtp.password",
			func(c *Config, v string) { c.Mail.SMTP.Password, c.Mail.SMTP.PasswordFile = Secret(v), "" }},
		{[]string{"COUPONBRIDGE_UNSUBSCRIBE_SECRET"}, "daemon.unsubscribe_secret",
			func(c *Config, v string) { c.Daemon.UnsubscribeSecret = Secret(v) }},
	}
}

// loadConfig reads, checks and returns the configuration file at path.
// Every problem is reported at once in a *configError.
func loadConfig(path string, opts loadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &configError{problems: []string{fmt.Sprintf("%s: cannot read the configuration: %v", path, err)}}
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return parseConfig(path, dir, data, opts)
}

// parseConfig is loadConfig on bytes already read; name is the file name
// shown in messages and dir the directory relative paths are resolved against.
func parseConfig(name, dir string, data []byte, opts loadOptions) (*Config, error) {
	getenv := opts.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	src := &sourceMap{file: name, lines: map[string]int{}, over: map[string]string{}}
	w := &walker{src: src, getenv: getenv, drop: map[*yaml.Node]bool{},
		expanded: map[*yaml.Node]bool{}, fromEnv: map[*yaml.Node]bool{}, visited: map[*yaml.Node]bool{},
		sections: map[*yaml.Node]bool{}, merged: map[mergeKey]bool{},
		unused: unusedSecretKeys(useAllSecrets &^ opts.unused)}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &configError{problems: []string{syntaxProblem(name, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		w.problemf(extra.Line, "", "only one YAML document is allowed (remove the '---' separator)")
	} else if !errors.Is(err, io.EOF) {
		return nil, &configError{problems: []string{syntaxProblem(name, err)}}
	}

	cfg := DefaultConfig()
	if len(doc.Content) > 0 {
		root := w.section(doc.Content[0], reflect.TypeFor[Config](), "")
		w.prune(&doc)
		if !root {
			// Not a mapping: nothing to decode; the defaults stay.
		} else if err := decodeStrict(&doc, &cfg); err != nil {
			// The walk checks what the decoder checks; this is a safety net.
			// Its line numbers are those of the re-encoded text: left out.
			for _, msg := range typeErrorLines(err) {
				w.problemf(0, "", "%s: %s", internalCheck, msg.text)
			}
		}
	}
	cfg.src = src

	for _, o := range envOverrides() {
		for _, name := range o.vars {
			if val := getenv(name); val != "" {
				o.set(&cfg, val)
				src.over[o.path] = "$" + name
				break
			}
		}
	}
	for _, o := range opts.flags {
		o.apply(&cfg)
		src.over[o.path] = o.source
	}
	cfg.resolvePaths(dir)

	v := &validator{src: src, bad: w.bad, unused: w.unused}
	cfg.readSecretFiles(v)
	cfg.validate(v)

	problems := append(w.problems, v.problems...)
	if len(problems) == 0 {
		return &cfg, nil
	}
	slices.SortStableFunc(problems, func(a, b problem) int {
		if a.line == 0 || b.line == 0 {
			return cmp.Compare(b.line, a.line) // located ones first
		}
		return cmp.Compare(a.line, b.line)
	})
	var lines []string
	for _, p := range problems {
		s := p.format(name)
		if !slices.Contains(lines, s) {
			lines = append(lines, s)
		}
	}
	return nil, &configError{problems: lines}
}

// decodeStrict decodes the checked, expanded node tree into cfg with
// KnownFields. yaml.v3 offers KnownFields only on a Decoder reading bytes, so
// the tree is encoded again; the walk has already reported every problem
// with its original line.
func decodeStrict(doc *yaml.Node, cfg *Config) error {
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// internalCheck starts a problem found by the strict decoder but missed by
// the walk: a bug, which the fuzz test looks for.
const internalCheck = "internal decoding check"

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

type lineText struct {
	line int
	text string
}

func typeErrorLines(err error) []lineText {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []lineText{{0, strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var out []lineText
	for _, e := range te.Errors {
		if m := yamlLineRE.FindStringSubmatch(e); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, lineText{n, m[2]})
		} else {
			out = append(out, lineText{0, e})
		}
	}
	return out
}

// syntaxProblem formats a YAML syntax error as FILE:LINE: message.
func syntaxProblem(name string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: YAML syntax error: %s", name, m[1], m[2])
	}
	return fmt.Sprintf("%s: YAML syntax error: %s", name, msg)
}

// sourceMap records where each key of a configuration came from.
type sourceMap struct {
	file  string
	lines map[string]int    // key path → line of the key in the file
	over  map[string]string // key path → "$VAR" or "--flag" that set it
}

func (s *sourceMap) overridden(path string) bool {
	_, ok := s.over[path]
	return ok
}

// line returns the line of path's key, or of its nearest ancestor present in
// the file (a missing key is reported at its section), or 0.
func (s *sourceMap) line(path string) int {
	for p := path; p != ""; {
		if l, ok := s.lines[p]; ok {
			return l
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// problem is one thing wrong with a configuration.
type problem struct {
	line int
	over string // the override that set the value, when not the file
	path string
	msg  string
}

func (p problem) format(file string) string {
	path := p.path
	if path == "" {
		path = "(top level)"
		if p.line > 0 {
			return fmt.Sprintf("%s:%d: %s", file, p.line, p.msg)
		}
	}
	switch {
	case p.over != "":
		return fmt.Sprintf("%s: %s (from %s): %s", file, path, p.over, p.msg)
	case p.line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", file, p.line, path, p.msg)
	default:
		return fmt.Sprintf("%s: %s: %s", file, path, p.msg)
	}
}

// validator collects the semantic problems of a decoded configuration.
type validator struct {
	src      *sourceMap
	problems []problem
	// bad are keys whose values had the wrong type and were left out of
	// decoding; problems at, under or just above them would only repeat it.
	bad []string
	// unused are the keys of secrets the command does not use: no problem
	// with them stops it.
	unused map[string]bool
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+".")
}

func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// errorf records a problem with the key at path.
func (v *validator) errorf(path, format string, args ...any) {
	if v.unused[path] {
		return
	}
	for _, b := range v.bad {
		if under(path, b) || parentOf(b) == path {
			return
		}
	}
	v.problems = append(v.problems, problem{line: v.src.line(path), over: v.src.over[path], path: path, msg: fmt.Sprintf(format, args...)})
}

// fieldError records err, a *campaign.FieldError naming a key relative to
// base, or any other error, at base.
// Joined errors (errors.Join) are recorded one by one.
func (v *validator) fieldError(base string, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			v.fieldError(base, e)
		}
		return
	}
	var fe *campaign.FieldError
	if errors.As(err, &fe) {
		v.errorf(joinPath(base, fe.Field), "%s", fe.Reason)
		return
	}
	v.errorf(base, "%v", err)
}

// has reports whether path was set in the file or by an override.
func (v *validator) has(path string) bool {
	_, inFile := v.src.lines[path]
	return inFile || v.src.overridden(path)
}

// failedUnder reports whether a problem was already recorded at or under path.
func (v *validator) failedUnder(path string) bool {
	for _, p := range v.problems {
		if under(p.path, path) {
			return true
		}
	}
	for _, b := range v.bad {
		if under(b, path) {
			return true
		}
	}
	return false
}

// walker checks a YAML node tree against the Config struct before decoding:
// unknown, refused and duplicate keys and values of the wrong type, each with
// its line, all of them. It records the line of every key, expands ${VAR} in
// values, and marks bad pairs for removal so decoding can go on without them.
type walker struct {
	src      *sourceMap
	getenv   func(string) string
	problems []problem
	bad      []string
	drop     map[*yaml.Node]bool // key nodes of pairs to remove
	expanded map[*yaml.Node]bool
	fromEnv  map[*yaml.Node]bool // values that came from the environment: never echoed
	visited  map[*yaml.Node]bool // alias targets already walked
	sections map[*yaml.Node]bool // mappings already checked as sections
	mute     int                 // >0 while re-walking a merged mapping already checked
	merged   map[mergeKey]bool
	steps    int             // sections walked, bounded by maxWalkSteps
	unused   map[string]bool // keys of secrets the command does not use
}

// maxWalkSteps bounds the sections one configuration may make the walk
// check, aliases and merges included.
const maxWalkSteps = 10000

func (w *walker) problemf(line int, path, format string, args ...any) {
	if w.mute > 0 {
		return
	}
	w.problems = append(w.problems, problem{line: line, path: path, msg: fmt.Sprintf(format, args...)})
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// refuser is a section that names keys it rejects with an explanation.
type refuser interface{ refusedKeys() map[string]string }

// isSection reports whether values of t are walked key by key.
func isSection(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]()
}

// resolve follows an alias, walking its target only the first time (so
// that aliases cannot make the walk exponential).
func (w *walker) resolve(n *yaml.Node) (*yaml.Node, bool) {
	if n.Kind != yaml.AliasNode {
		return n, true
	}
	t := n.Alias
	if t == nil || w.visited[t] {
		return t, false
	}
	w.visited[t] = true
	return t, true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// section checks a mapping against the yaml fields of struct type t.
func (w *walker) section(n *yaml.Node, t reflect.Type, path string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n, walk := w.resolve(n)
	if n == nil || !walk || isNull(n) {
		return true
	}
	if w.steps++; w.steps > maxWalkSteps {
		if w.steps == maxWalkSteps+1 {
			w.problemf(n.Line, path, "too many aliases and merges (more than %d sections to check)", maxWalkSteps)
		}
		return true
	}
	if n.Kind != yaml.MappingNode {
		what := "must be a mapping of keys"
		if path == "" {
			what = "the configuration must be a mapping of sections (store, mail, ledger, log, campaigns)"
		}
		w.problemf(n.Line, path, "%s, got %s", what, w.describeNode(n))
		return false
	}
	w.sections[n] = true
	fields := yamlFields(t)
	var refused map[string]string
	if r, ok := reflect.Zero(t).Interface().(refuser); ok {
		refused = r.refusedKeys()
	}
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.problemf(k.Line, path, "keys must be plain names, got %s", w.describeNode(k))
			w.drop[k] = true
			continue
		}
		if k.ShortTag() == "!!merge" {
			targets, ok := mergeTargets(val)
			if !ok {
				w.problemf(k.Line, joinPath(path, "<<"), "a merge (<<) takes a mapping or a list of mappings, got %s", w.describeNode(val))
				w.drop[k] = true
				continue
			}
			merges = append(merges, targets...)
			continue
		}
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			w.problemf(k.Line, p, "duplicate key (first set at line %d)", first)
			w.drop[k] = true
			continue
		}
		seen[k.Value] = k.Line
		ft, ok := fields[k.Value]
		if !ok {
			if why, ok := refused[k.Value]; ok {
				w.problemf(k.Line, p, "%s", why)
			} else {
				w.problemf(k.Line, p, "unknown key%s", suggest(k.Value, fields))
			}
			w.drop[k] = true
			continue
		}
		w.src.lines[p] = k.Line
		if !w.value(val, ft, p) {
			w.drop[k] = true
		}
	}
	for _, tn := range merges {
		key := mergeKey{tn, path}
		if w.merged[key] {
			continue // merged here already: nothing new, and no blow-up
		}
		w.merged[key] = true
		// Keys set explicitly win over merged ones, and keep their lines.
		saved := map[string]int{}
		for k, l := range w.src.lines {
			if path == "" || under(k, path) {
				saved[k] = l
			}
		}
		// A mapping checked where it was defined is walked again only for
		// the lines of the keys it brings here.
		checked := w.sections[tn]
		if checked {
			w.mute++
		}
		w.section(tn, t, path)
		if checked {
			w.mute--
		}
		for k, l := range saved {
			w.src.lines[k] = l
		}
	}
	return true
}

// mergeKey is one mapping merged into one section.
type mergeKey struct {
	node *yaml.Node
	path string
}

// mergeTargets returns the mappings a merge value names: a mapping, or a
// list of mappings (aliases followed); false for anything else.
func mergeTargets(v *yaml.Node) ([]*yaml.Node, bool) {
	deref := func(n *yaml.Node) *yaml.Node {
		if n != nil && n.Kind == yaml.AliasNode {
			return n.Alias
		}
		return n
	}
	v = deref(v)
	switch {
	case v == nil:
		return nil, false
	case v.Kind == yaml.MappingNode:
		return []*yaml.Node{v}, true
	case v.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range v.Content {
			c = deref(c)
			if c == nil || c.Kind != yaml.MappingNode {
				return nil, false
			}
			out = append(out, c)
		}
		return out, true
	}
	return nil, false
}

// value checks one value of type t at path; false means drop it.
func (w *walker) value(n *yaml.Node, t reflect.Type, path string) bool {
	switch {
	case isSection(t):
		return w.section(n, t, path)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && isSection(t.Elem()):
		return w.mapping(n, t, path)
	default:
		return w.leaf(n, t, path)
	}
}

// mapping checks a map of named sections (campaigns).
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) bool {
	n, walk := w.resolve(n)
	if n == nil || !walk || isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		w.problemf(n.Line, path, "must be a mapping of names to settings, got %s", w.describeNode(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			w.problemf(k.Line, path, "names must be plain strings, got %s", w.describeNode(k))
			w.drop[k] = true
			continue
		}
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			w.problemf(k.Line, p, "duplicate name (first defined at line %d)", first)
			w.drop[k] = true
			continue
		}
		seen[k.Value] = k.Line
		w.src.lines[p] = k.Line
		if !w.value(val, t.Elem(), p) {
			w.drop[k] = true
		}
	}
	return true
}

// leaf expands ${VAR} in a value and checks that it decodes into type t.
func (w *walker) leaf(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if !w.expand(n, t, path) {
		return false
	}
	if isNull(n) && n.Style&yaml.TaggedStyle == 0 {
		// An empty value ("key:" or "{key}") keeps the default; spell it
		// so that it stays null when the tree is encoded again.
		n.Value, n.Tag, n.Style = "null", "!!null", 0
	}
	if t == reflect.TypeFor[time.Duration]() && n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
		// A bare 0 is unambiguous (the example's "0 turns it off"); YAML
		// decodes no other number into a duration.
		n.Value, n.Tag = "0s", "!!str"
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.problemf(n.Line, path, "must be %s, got %s", describeType(t), w.describeNode(n))
		w.bad = append(w.bad, path)
		return false
	}
	return true
}

// expand replaces ${VAR} references in the scalars of n.
func (w *walker) expand(n *yaml.Node, t reflect.Type, path string) bool {
	if w.expanded[n] {
		return true
	}
	w.expanded[n] = true
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return true
		}
		out, err := expandEnv(n.Value, w.getenv)
		if err != nil && w.unused[path] {
			// A secret this command does not use: left empty, never sent.
			n.Value, n.Tag = "", "!!str"
			return true
		}
		if err != nil {
			w.problemf(n.Line, path, "%v", err)
			w.bad = append(w.bad, path)
			return false
		}
		if out == n.Value {
			return true
		}
		n.Value = out
		w.fromEnv[n] = true
		const explicit = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
		if n.Style&explicit == 0 {
			// Let the expanded text resolve as the key's type wants: a
			// port from ${SMTP_PORT} is a number, a password stays a string.
			base := t
			for base.Kind() == reflect.Pointer {
				base = base.Elem()
			}
			if base.Kind() == reflect.String {
				n.Tag = "!!str"
			} else {
				n.Tag = ""
			}
		}
	case yaml.SequenceNode:
		elem := t
		if t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		ok := true
		for _, c := range n.Content {
			ok = w.expand(c, elem, path) && ok
		}
		return ok
	}
	return true
}

// prune removes the pairs marked for removal, everywhere in the tree.
func (w *walker) prune(n *yaml.Node) {
	seen := map[*yaml.Node]bool{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			kept := n.Content[:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				if !w.drop[n.Content[i]] {
					kept = append(kept, n.Content[i], n.Content[i+1])
				}
			}
			n.Content = kept
		}
		for _, c := range n.Content {
			walk(c)
		}
		walk(n.Alias)
	}
	walk(n)
}

// yamlFields maps the yaml key names of struct t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// describeType says in words what a value of t looks like.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "a duration such as 30s, 5m or 1h30m"
	case reflect.TypeFor[Secret]():
		return "a string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	default:
		return "a mapping of keys"
	}
}

// describeNode says what a node is, without echoing values that came from
// the environment (they may be secrets).
func (w *walker) describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		if n.Alias != nil {
			return w.describeNode(n.Alias)
		}
	case yaml.ScalarNode:
		if w.fromEnv[n] {
			return "a value from the environment"
		}
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return "something else"
}

// suggest returns ` (did you mean "x"?)` for a close known key.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(key, name); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${NAME} by the variable's value and ${NAME:-default}
// by the value or, when unset or empty, the default. "$${" stands for a
// literal "${"; a "$" not followed by "{" is kept as is. An unset variable
// without a default is an error naming it.
func expandEnv(s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q (write $${ for a literal ${)", s[i:])
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !envNameRE.MatchString(name) {
			return "", fmt.Errorf("${%s}: %q is not an environment variable name", expr, name)
		}
		val := getenv(name)
		if val == "" {
			if !hasDef {
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
			}
			val = def
		}
		b.WriteString(val)
		s = s[i+end+1:]
	}
}
