package rllib

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Checkpoint format identifiers. A checkpoint directory holds
// rllib_checkpoint.json (this metadata) and one little-endian float32 file
// per tensor. Nothing in it is Go-specific, so other tools and later
// releases can read it.
const (
	CheckpointFormat        = "goray-rllib"
	CheckpointFormatVersion = 1
	CheckpointMetaFile      = "rllib_checkpoint.json"
)

// ErrCheckpoint is wrapped by every checkpoint read error.
var ErrCheckpoint = errors.New("bad checkpoint")

// TensorMeta describes one tensor file.
type TensorMeta struct {
	Name      string `json:"name"`
	File      string `json:"file"`
	Dtype     string `json:"dtype"`
	ByteOrder string `json:"byte_order"`
	Shape     []int  `json:"shape"`
}

// CheckpointMeta is rllib_checkpoint.json.
type CheckpointMeta struct {
	// Type and CheckpointVersion are RLlib's own two keys.
	Type              string `json:"type"`
	CheckpointVersion string `json:"checkpoint_version"`
	// Format and FormatVersion identify goray's layout.
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`
	Algorithm     string `json:"algorithm"`
	Iteration     int    `json:"training_iteration"`
	// Config is the algorithm's config; State its non-tensor state.
	Config  json.RawMessage `json:"config"`
	State   json.RawMessage `json:"state"`
	Tensors []TensorMeta    `json:"tensors"`
}

// WriteCheckpoint writes meta and the tensors (in name order) into dir,
// creating it. The metadata file is written last, so a directory without
// it is an incomplete checkpoint.
func WriteCheckpoint(dir string, meta CheckpointMeta, tensors map[string][]float32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	meta.Type = "Algorithm"
	meta.CheckpointVersion = "1.0"
	meta.Format = CheckpointFormat
	meta.FormatVersion = CheckpointFormatVersion
	meta.Tensors = nil
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := tensors[n]
		buf := make([]byte, 4*len(t))
		for i, v := range t {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		file := n + ".bin"
		if err := os.WriteFile(filepath.Join(dir, file), buf, 0o644); err != nil {
			return fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		meta.Tensors = append(meta.Tensors, TensorMeta{Name: n, File: file, Dtype: "float32", ByteOrder: "little", Shape: []int{len(t)}})
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, CheckpointMetaFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return os.Rename(tmp, filepath.Join(dir, CheckpointMetaFile))
}

// ReadCheckpoint reads a directory written by WriteCheckpoint.
func ReadCheckpoint(dir string) (*CheckpointMeta, map[string][]float32, error) {
	b, err := os.ReadFile(filepath.Join(dir, CheckpointMetaFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	var meta CheckpointMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, CheckpointMetaFile, err)
	}
	if meta.Format != CheckpointFormat || meta.FormatVersion < 1 || meta.FormatVersion > CheckpointFormatVersion {
		return nil, nil, fmt.Errorf("%w: %s: format %q version %d, this release reads %q up to version %d",
			ErrCheckpoint, dir, meta.Format, meta.FormatVersion, CheckpointFormat, CheckpointFormatVersion)
	}
	tensors := map[string][]float32{}
	for _, tm := range meta.Tensors {
		if tm.Dtype != "float32" || tm.ByteOrder != "little" || len(tm.Shape) != 1 {
			return nil, nil, fmt.Errorf("%w: tensor %s: dtype %s byte order %s shape %v unsupported", ErrCheckpoint, tm.Name, tm.Dtype, tm.ByteOrder, tm.Shape)
		}
		raw, err := os.ReadFile(filepath.Join(dir, filepath.Base(tm.File)))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %s: %w", ErrCheckpoint, tm.Name, err)
		}
		if len(raw) != 4*tm.Shape[0] {
			return nil, nil, fmt.Errorf("%w: tensor %s: %d bytes, want %d", ErrCheckpoint, tm.Name, len(raw), 4*tm.Shape[0])
		}
		t := make([]float32, tm.Shape[0])
		for i := range t {
			t[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		tensors[tm.Name] = t
	}
	return &meta, tensors, nil
}
