// Package tomlutil decodes goray's TOML files (job files, daemon configs)
// strictly: a syntax error, a wrong type or an unknown key becomes an error
// that names the file, the line and column, and the dotted key.
//
// BurntSushi/toml reports syntax errors with a position but keeps the
// position of each decoded key private, and reports unknown keys only as a
// list. Users fix files by line number, so this package recovers key
// positions with a small line scanner over the source. The scanner only needs
// to find where keys are written, not to parse values, which keeps it simple:
// TOML allows a key to be defined once, so the first place a full key path
// appears is the place to point at.
package tomlutil
