package tomlutil

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrUnknownKey is wrapped by the error for a key no field accepts.
var ErrUnknownKey = errors.New("unknown key")

// ErrSyntax is wrapped by errors for malformed TOML and wrong value types.
var ErrSyntax = errors.New("invalid TOML")

// Position is a 1-based line and column in a file.
type Position struct {
	Line, Col int
}

// FieldError names the file, position and key of a problem in a TOML file.
type FieldError struct {
	File string
	Pos  Position
	Key  string
	Err  error
}

// Error reports "file:line:col: key: problem", leaving out what is unknown.
func (e *FieldError) Error() string {
	loc := e.File
	if e.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Pos.Line, e.Pos.Col)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %v", loc, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

// Unwrap lets errors.Is match the sentinel (ErrUnknownKey, ErrSyntax or a
// caller's) that the problem wraps.
func (e *FieldError) Unwrap() error { return e.Err }

// File is a decoded TOML file with the positions of its keys.
type File struct {
	Name string
	Meta toml.MetaData
	pos  map[string]Position
}

// Pos returns where the dotted key was written, or the zero Position.
func (f *File) Pos(key string) Position { return f.pos[key] }

// Errorf returns a *FieldError for key with the key's position.
func (f *File) Errorf(key string, format string, args ...any) error {
	return &FieldError{File: f.Name, Pos: f.pos[key], Key: key, Err: fmt.Errorf(format, args...)}
}

// Wrap returns a *FieldError for key wrapping err.
func (f *File) Wrap(key string, err error) error {
	return &FieldError{File: f.Name, Pos: f.pos[key], Key: key, Err: err}
}

// DecodeFile reads path and decodes it strictly into v. See Decode.
func DecodeFile(path string, v any, allowUndecoded ...string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Decode(path, data, v, allowUndecoded...)
}

// Decode decodes data (named name in errors) into v. Keys that no field of v
// accepts are errors, except keys under the prefixes in allowUndecoded (used
// for tables that another decoder handles later, such as a job's [rllib]).
func Decode(name string, data []byte, v any, allowUndecoded ...string) (*File, error) {
	f := &File{Name: name, pos: scanPositions(string(data))}
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &FieldError{File: name, Pos: offsetPosition(data, pe.Position), Key: pe.LastKey,
				Err: fmt.Errorf("%w: %s", ErrSyntax, pe.Message)}
		}
		// Type mismatches come back as plain errors that carry the key.
		key := lastKeyRe.FindStringSubmatch(err.Error())
		fe := &FieldError{File: name, Err: fmt.Errorf("%w: %s", ErrSyntax, cleanTOMLMessage(err.Error()))}
		if key != nil {
			fe.Key = key[1]
			fe.Pos = f.pos[key[1]]
		}
		return nil, fe
	}
	f.Meta = md
	var unknown []string
	for _, k := range md.Undecoded() {
		ks := k.String()
		if allowed(ks, allowUndecoded) {
			continue
		}
		unknown = append(unknown, ks)
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool {
			pi, pj := f.pos[unknown[i]], f.pos[unknown[j]]
			if pi.Line != pj.Line {
				return pi.Line < pj.Line
			}
			return unknown[i] < unknown[j]
		})
		// Report the outermost unknown key: its children are unknown too.
		k := unknown[0]
		for _, u := range unknown {
			if strings.HasPrefix(k, u+".") {
				k = u
			}
		}
		return f, &FieldError{File: name, Pos: f.pos[k], Key: k, Err: ErrUnknownKey}
	}
	return f, nil
}

func allowed(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if key == p || strings.HasPrefix(key, p+".") {
			return true
		}
	}
	return false
}

var lastKeyRe = regexp.MustCompile(`last key "([^"]+)"`)

func cleanTOMLMessage(s string) string {
	if i := strings.Index(s, "): "); i >= 0 && strings.HasPrefix(s, "toml:") {
		return s[i+3:]
	}
	return strings.TrimPrefix(s, "toml: ")
}

var (
	headerRe = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	keyRe    = regexp.MustCompile(`^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=`)
	inlineRe = regexp.MustCompile(`[{,]\s*((?:[A-Za-z0-9_\-]+|"[^"]*")(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"))*)\s*=`)
)

// scanPositions maps every dotted key written in src to its first position.
// It understands table headers, dotted keys and one-line inline tables,
// which is what goray's files use; multi-line strings are skipped.
func scanPositions(src string) map[string]Position {
	pos := map[string]Position{}
	table := ""
	inMultiline := ""
	for i, line := range strings.Split(src, "\n") {
		ln := i + 1
		if inMultiline != "" {
			if strings.Contains(line, inMultiline) {
				inMultiline = ""
			}
			continue
		}
		if m := headerRe.FindStringSubmatch(line); m != nil && !strings.Contains(line, "=") {
			table = joinKey(splitKey(m[1]))
			setPos(pos, table, Position{ln, strings.Index(line, "[") + 1})
			continue
		}
		m := keyRe.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		key := joinKey(splitKey(line[m[2]:m[3]]))
		full := key
		if table != "" {
			full = table + "." + key
		}
		setPos(pos, full, Position{ln, m[2] + 1})
		rest := line[m[1]:]
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(rest, q) == 1 {
				inMultiline = q
			}
		}
		// Inline table keys on the same line.
		for _, im := range inlineRe.FindAllStringSubmatchIndex(rest, -1) {
			k := joinKey(splitKey(rest[im[2]:im[3]]))
			setPos(pos, full+"."+k, Position{ln, m[1] + im[2] + 1})
		}
	}
	return pos
}

func setPos(pos map[string]Position, key string, p Position) {
	if _, ok := pos[key]; !ok {
		pos[key] = p
	}
	// Parents of a dotted key are implicitly defined where it is.
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key[:i], ".") {
		if _, ok := pos[key[:i]]; !ok {
			pos[key[:i]] = p
		}
	}
}

func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

// joinKey renders key parts the way toml.Key.String does, so positions can be
// looked up by the keys MetaData reports.
func joinKey(parts []string) string {
	return toml.Key(parts).String()
}

// offsetPosition turns the parser's byte offset into line and column. The
// parser counts a newline that ends a bad line as the start of the next
// line; users expect the line they wrote, so such a newline belongs to the
// line it ends.
func offsetPosition(data []byte, p toml.Position) Position {
	start := p.Start
	if start < 0 || start > len(data) || (start == 0 && p.Line > 1) {
		return Position{Line: p.Line, Col: max(p.Col, 1)}
	}
	line, col := 1, 1
	for _, c := range data[:start] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return Position{Line: line, Col: col}
}
