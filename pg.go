package goray

import (
	"context"
	"fmt"

	grt "github.com/goray/goray/runtime"
)

// PGStrategy is a placement group strategy.
type PGStrategy = grt.PGStrategy

// Placement group strategies (Ray's names).
const (
	Pack         = grt.PGPack
	SpreadPG     = grt.PGSpread
	StrictPack   = grt.PGStrictPack
	StrictSpread = grt.PGStrictSpread
)

// PlacementGroup is a gang reservation of resource bundles.
type PlacementGroup struct {
	id      string
	name    string
	bundles []map[string]float64
	c       *grt.Client
}

// ID returns the group's ID.
func (pg *PlacementGroup) ID() string {
	if pg == nil {
		return ""
	}
	return pg.id
}

// Bundles returns the requested bundles.
func (pg *PlacementGroup) Bundles() []map[string]float64 { return pg.bundles }

// CreatePlacementGroup reserves bundles with strategy. It returns at once;
// Ready waits until the reservation holds.
func CreatePlacementGroup(ctx context.Context, bundles []map[string]float64, strategy PGStrategy, name string) (*PlacementGroup, error) {
	rt, err := current(ctx)
	if err != nil {
		return nil, err
	}
	if len(bundles) == 0 {
		return nil, fmt.Errorf("goray: placement group %q: no bundles", name)
	}
	id, err := rt.c.CreatePlacementGroup(ctx, bundles, strategy, name)
	if err != nil {
		return nil, fromSubmitErr(err)
	}
	return &PlacementGroup{id: id, name: name, bundles: bundles, c: rt.c}, nil
}

// Ready waits until the group's bundles are reserved.
func (pg *PlacementGroup) Ready(ctx context.Context) error {
	return fromSubmitErr(pg.c.PlacementGroupReady(ctx, pg.id))
}

// RemovePlacementGroup releases the group's reservation.
func RemovePlacementGroup(ctx context.Context, pg *PlacementGroup) error {
	return fromSubmitErr(pg.c.RemovePlacementGroup(ctx, pg.id))
}
