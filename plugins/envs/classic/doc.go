// Package classic implements Gymnasium 1.4's classic-control and toy-text
// environments in Go, exactly: same constants, equations, operation order,
// float32 casts, rewards, termination rules, info keys and random draws.
//
// # Why bit-exact
//
// Reinforcement-learning results are compared across frameworks by seed.
// If goray's CartPole-v1 is merely "close" to Gymnasium's, a policy trained
// here cannot be checked against a reference run, a regression cannot be
// told from noise, and a reported return is not comparable with RLlib's.
// So every env here reproduces Gymnasium's trajectory for a given seed and
// action sequence, and `goray env run --actions FILE --json` lets anyone
// diff a trajectory against Python's.
//
// Four things make that possible:
//
//   - numpy's RNG: package nprand reproduces SeedSequence, PCG64 and each
//     Generator method Gymnasium calls, and every env makes its draws in
//     Gymnasium's order (CartPole's four uniforms x, ẋ, θ, θ̇; one random()
//     per toy-text step even when the move is deterministic; Blackjack's two
//     cosmetic draws for rendering; Taxi's fickle-passenger draw).
//   - glibc's sin and cos: CPython's math.sin/math.cos call the C library,
//     whose results are not always correctly rounded, and Go's math.Sin
//     differs from glibc in the last bit for about a quarter of all inputs.
//     glibcmath.go evaluates glibc's own algorithm (its x86-64 FMA build:
//     same constants, same 110-entry sin/cos table, same fused
//     multiply-adds); it matched glibc 2.36 on 8 million arguments and is
//     checked in the tests against testdata/glibc_sincos.txt.
//   - Python's operation order: each expression is written in Python's
//     evaluation order, constants such as 12·2·π/360 are computed at run time
//     in float64 (Go would fold them exactly), and products that feed a sum
//     are wrapped in float64() so that no compiler fuses them into an FMA.
//   - glibc's pow for x**2: CPython and numpy evaluate x**2 on a float or
//     np.float64 as the C library's pow(x, 2.0), which differs from the exact
//     x·x in about 0.08% of calls. glibcpow.go reproduces glibc's pow for
//     that case (its log and exp tables are generated from the rules in the
//     routines' sources and checked against glibc's own entries); it matched
//     glibc 2.36 on 6 million arguments and is checked against
//     testdata/glibc_pow2.txt, mostly arguments where pow(x,2) ≠ x·x.
//
// Built with -tags goray_libm (cgo, Linux), the envs call the C library's
// pow, sin and cos directly instead of the emulation, which makes them
// match CPython on the same machine whatever its libm, at the cost of a
// cgo call (~50 ns) each; use it for parity checks on other platforms.
//
// testdata/reference_trajectories.txt holds trajectories from a C
// transcription of the equations compiled against glibc without FP
// contraction (CartPole 500 steps, MountainCar 200, Pendulum 200, Acrobot
// 300, from goray's seed-2024 resets). All four match bit for bit, in the
// float64 state at every step, in both builds. (With x·x in place of
// glibc's pow, Acrobot's state first differed by an ulp at step 107.)
//
// # The environments
//
// Factories returns every registered ID: CartPole-v0/v1, MountainCar-v0,
// MountainCarContinuous-v0, Pendulum-v1, Acrobot-v1, FrozenLake-v1,
// FrozenLake8x8-v1, CliffWalking-v1, CliffWalkingSlippery-v1, Taxi-v4 and
// Blackjack-v1, each with its Spec (exact spaces, with float32 bounds
// stored as their float64 values, MaxEpisodeSteps and RewardThreshold as
// registered). The envs never truncate: the TimeLimit belongs to the
// vector (package envs), as gym.make puts it outside the env.
//
// Kwargs are checked strictly: an unknown or ill-typed kwarg is an error
// wrapping envs.ErrBadKwargs that names the kwarg. FrozenLake takes desc,
// map_name (null for a random map), is_slippery, success_rate and
// reward_schedule, plus goray's map_size, map_p and map_seed, which make
// random maps reproducible (Gymnasium's own random map uses OS entropy);
// GenerateRandomMap is Gymnasium's generate_random_map(size, p, seed)
// with its own generator. Taxi takes is_rainy, rainy_probability,
// fickle_passenger and fickle_probability; CartPole sutton_barto_reward;
// MountainCar(Continuous) goal_velocity; Pendulum g; Blackjack sab and
// natural. Every env accepts render_mode.
//
// A Discrete action must be an integer in range, else envs.ErrBadAction;
// Box actions are clipped as Gymnasium clips them (only a wrong length or
// NaN is an error) and rounded to float32 first, as an agent's np.float32
// action would be.
//
// NewSampler samples spaces as Gymnasium's space.seed(seed) followed by
// space.sample() does, with the space's own generator: Discrete, Box
// (bounded, unbounded, half-bounded, integer dtypes), MultiDiscrete,
// MultiBinary, Tuple and Dict (members seeded from the container's
// generator, as Gymnasium does).
//
// # Rendering
//
// Render(mode) draws on request; nothing is drawn or allocated on the Step
// path. "ansi" gives Gymnasium's exact text for FrozenLake, CliffWalking
// and Taxi, ANSI colours included (Blackjack has no text mode in
// Gymnasium and none here). "rgb_array" gives a Height×Width×3 byte frame
// for every env:
//
//   - classic control: Gymnasium's geometry (sizes, scales, colours) drawn
//     by a small polygon rasteriser (render.go);
//   - toy text: Gymnasium's frame sizes and layouts, drawn by a tile
//     rasteriser of goray's own (raster.go, render_toytext.go) instead of
//     Gymnasium's pygame sprites. FrozenLake is min(64·ncol, 512) ×
//     min(64·nrow, 512) px with window/n px cells (the remainder black, as
//     pygame leaves it); CliffWalking 720×240 (60-px cells); Taxi 550×350
//     (50-px cells over the 11×7 map characters); Blackjack 600×500.
//
// The toy-text frames show what Gymnasium's show, each kind of tile in
// its own flat colour: ice, holes, the start stool, the goal and the
// agent (an arrow for its last move) on the lake; grass, cliff, stool,
// cookie and agent on the cliff; road, walls, the four landmark colours,
// the waiting passenger, the destination hotel and the taxi (facing its
// last move, green with the passenger aboard); and on the Blackjack table
// the dealer's showing card (value, the J/Q/K and suit drawn at reset),
// the hidden card, the player's sum in drawn digits and "USABLE ACE". They
// are NOT pixel-identical to Gymnasium's pygame frames (no sprites, no
// fonts, no anti-aliasing): use them to look at an episode or to feed a
// pixel-based policy, never to compare pixels with Gymnasium. A frame is
// a function of the env's state (with the last move, which sets the
// agent's facing), so equal states give equal bytes. A FrozenLake map with
// more than 512 rows or columns has no frame (cells under a pixel). Each
// call allocates its own frame: about 0.2 ms for the 4x4 lake and 0.4–0.9
// ms for the 512×512, 720×240, 550×350 and 600×500 frames on the loaded
// 2-core build machine (BenchmarkRenderRGB).
//
// As with Gymnasium's OrderEnforcing wrapper, a toy-text env refuses to
// render before its first Reset: the error wraps envs.ErrResetNeeded.
//
// # Performance
//
// Step writes into the caller's observation slice and allocates nothing:
// the classic-control envs return a nil Info from Step and Reset (Gymnasium
// returns {}); the toy-text envs return one Info map per env that the next
// Step overwrites (copy it to keep it). On the shared 2-core build machine
// (load average 5–8) a CartPole step measured about 55 ns, MountainCar 28
// ns, FrozenLake 75–100 ns including its frequent resets, Acrobot (four
// dynamics evaluations per RK4 step) about 400 ns, against ~5.5 µs for
// Gymnasium's Python CartPole step.
//
// # What was verified, and the known tolerances
//
// Bit for bit: the Gymnasium 1.4 docstring resets of CartPole-v1,
// MountainCar-v0, MountainCarContinuous-v0, Acrobot-v1 and Pendulum-v1 and
// the make_vec CartPole reset and step, to the 8 digits numpy prints;
// glibc's sin/cos on all reference arguments. Statistically: FrozenLake's
// slip frequencies, the 0.7402 success rate of the stationary optimal
// FrozenLake policy within 100 steps, the 22.2-step mean episode of a
// random CartPole policy.
//
// Known tolerances:
//
//   - Acrobot and Pendulum call numpy's np.sin/np.cos. On machines where
//     numpy uses its own SIMD kernels (AVX-512) those can differ from glibc
//     in the last bit; Acrobot is chaotic, so such differences grow to about
//     1e-6 in the observation within a few hundred steps. Long Acrobot
//     trajectories must be compared with a tolerance. The reset observation
//     of Acrobot (cos/sin of a float32 state, evaluated by numpy in float32)
//     is the correctly rounded float32 value, which numpy's float32 kernels
//     return in all but rare cases.
//   - MountainCarContinuous and Pendulum follow numpy 1.x promotion rules
//     (a float32 action times a Python float is computed in float64).
//     numpy 2's NEP 50 rules compute some of these products in float32.
//   - Taxi's is_rainy mode follows the reference description (intended move
//     with rainy_probability, else one of the two lateral moves, nothing
//     moves if the intended move is blocked); it was not compared with
//     Gymnasium 1.4's code.
//   - sin/cos arguments beyond 105414350 (glibc's Payne–Hanek range) use a
//     correctly rounded evaluation, which can differ from glibc in the last
//     bit; no env reaches them in practice. pySquare uses x·x where the
//     square leaves the normal range (|x| beyond about 2^±369).
//   - The emulated sin/cos/pow tables are built when the first
//     classic-control env is made (about 25 ms, once per process).
package classic
