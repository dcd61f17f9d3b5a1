package classic

import (
	"github.com/goray/goray/plugins/envs"
)

// blackjackDeck is the infinite deck: ace = 1, face cards = 10.
var blackjackDeck = [13]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10}

// Blackjack is Blackjack-v1 (toy_text/blackjack.py).
type Blackjack struct {
	spec envs.Spec
	seeder
	player, dealer []int
	hasState       bool
	natural, sab   bool
	// Cosmetic draws Gymnasium makes for rendering (the showing card's suit
	// C, D, H, S and, for a 10, its face J, Q, K; -1 otherwise): they keep
	// the RNG stream in step with Gymnasium's and the rgb_array frame draws
	// them.
	dealerSuit, dealerFace int
}

func newBlackjack(kw envs.Kwargs) (envs.Env, error) {
	const id = "Blackjack-v1"
	k := newKwargs(id, kw)
	natural, err := k.boolean("natural", false)
	if err != nil {
		return nil, err
	}
	sab, err := k.boolean("sab", true)
	if err != nil {
		return nil, err
	}
	if err := k.finish([]string{modeRGB}); err != nil {
		return nil, err
	}
	return &Blackjack{
		spec: envs.Spec{
			ID: id,
			ObservationSpace: envs.Space{Kind: envs.KindTuple, Spaces: []envs.Space{
				discreteSpace(32), discreteSpace(11), discreteSpace(2),
			}},
			ActionSpace: discreteSpace(2),
			RenderModes: []string{modeRGB},
			Plugin:      PluginName,
		},
		natural: natural,
		sab:     sab,
	}, nil
}

func (e *Blackjack) draw() int { return blackjackDeck[e.rng.Choice(len(blackjackDeck))] }

func handSum(h []int) int {
	s := 0
	for _, c := range h {
		s += c
	}
	return s
}

func usableAce(h []int) bool {
	for _, c := range h {
		if c == 1 {
			return handSum(h)+10 <= 21
		}
	}
	return false
}

func sumHand(h []int) int {
	if usableAce(h) {
		return handSum(h) + 10
	}
	return handSum(h)
}

func isBust(h []int) bool { return sumHand(h) > 21 }

func score(h []int) int {
	if isBust(h) {
		return 0
	}
	return sumHand(h)
}

func isNatural(h []int) bool {
	return len(h) == 2 && ((h[0] == 1 && h[1] == 10) || (h[0] == 10 && h[1] == 1))
}

// Spec implements envs.Env.
func (e *Blackjack) Spec() envs.Spec { return e.spec }

func (e *Blackjack) writeObs(obs []float64) {
	obs[0] = float64(sumHand(e.player))
	obs[1] = float64(e.dealer[0])
	obs[2] = 0
	if usableAce(e.player) {
		obs[2] = 1
	}
}

// Reset deals the dealer two cards, then the player two, then makes
// Gymnasium's two cosmetic draws (suit; face if the dealer shows a 10).
func (e *Blackjack) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if err := checkObs(e.spec.ID, obs, 3); err != nil {
		return nil, err
	}
	if err := e.reseed(e.spec.ID, seed); err != nil {
		return nil, err
	}
	e.dealer = append(e.dealer[:0], e.draw(), e.draw())
	e.player = append(e.player[:0], e.draw(), e.draw())
	e.dealerSuit = e.rng.Choice(4)
	e.dealerFace = -1
	if e.dealer[0] == 10 {
		e.dealerFace = e.rng.Choice(3)
	}
	e.hasState = true
	e.writeObs(obs)
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

// Step plays action 1 (hit) or 0 (stick: the dealer then draws to 17).
func (e *Blackjack) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := discreteAction(e.spec.ID, action, 2)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if err := checkObs(e.spec.ID, obs, 3); err != nil {
		return 0, false, nil, err
	}
	var reward float64
	var terminated bool
	if a == 1 {
		e.player = append(e.player, e.draw())
		if isBust(e.player) {
			terminated, reward = true, -1
		}
	} else {
		terminated = true
		for sumHand(e.dealer) < 17 {
			e.dealer = append(e.dealer, e.draw())
		}
		ps, ds := score(e.player), score(e.dealer)
		switch {
		case ps > ds:
			reward = 1
		case ps < ds:
			reward = -1
		}
		if e.sab && isNatural(e.player) && !isNatural(e.dealer) {
			reward = 1
		} else if !e.sab && e.natural && isNatural(e.player) && reward == 1 {
			reward = 1.5
		}
	}
	e.writeObs(obs)
	return reward, terminated, nil, nil
}

// Render draws the table as a 600×500 RGB frame ("rgb_array", see
// renderRGB). Gymnasium's Blackjack has no text mode, and goray offers
// none either. Before the first Reset it fails with envs.ErrResetNeeded.
func (e *Blackjack) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	if !e.hasState {
		return envs.Render{}, renderBeforeReset(e.spec.ID)
	}
	return e.renderRGB(), nil
}

// Close implements envs.Env.
func (e *Blackjack) Close() error { return nil }
