//! Seeded cases: each command's cases come from a proptest strategy driven by a runner seeded
//! from [`SchemaOptions::seed`] and the command's name (the same cases every run), and the
//! first failing case is shrunk the way proptest shrinks it. The test is an `FnMut`, so a
//! check's case can act on the check's session directly.

use super::SchemaOptions;
use crate::rng::Rng;
use proptest::prelude::RngExt;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::time::{Duration, Instant};

/// At most this many shrinking steps for one failure.
const MAX_SHRINK_ITERS: u32 = 512;

/// At most this long shrinking one failure.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(15);

/// A seeded runner for the cases of `salt` (a command name): the same cases every run.
pub(super) fn runner(opts: &SchemaOptions, salt: &str) -> TestRunner {
    // FNV-1a of the salt, mixed with the run's seed, drawn out to 32 bytes.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = Rng::new(h ^ opts.seed);
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let config = Config {
        cases: opts.cases,
        failure_persistence: None,
        verbose: 0,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// A failing case, shrunk: the minimal value (none when no case could be generated) and
/// what was wrong with it.
pub(super) type Shrunk<V> = (Option<V>, String);

/// Run the seeded cases of `strategy` through `test`; the first failure comes back shrunk.
pub(super) fn run_cases<S: Strategy>(
    opts: &SchemaOptions,
    salt: &str,
    strategy: &S,
    mut test: impl FnMut(&S::Value) -> Result<(), String>,
) -> Result<(), Shrunk<S::Value>> {
    let mut runner = runner(opts, salt);
    for _ in 0..opts.cases {
        // A fresh generator for each case, seeded from the runner's, as proptest's own runner
        // does: the same seed gives the same cases as `TestRunner::run` would.
        let seed: [u8; 32] = runner.rng().random();
        *runner.rng() = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|reason| (None, reason.to_string()))?;
        let value = tree.current();
        if let Err(reason) = test(&value) {
            return Err(shrink(&mut tree, value, reason, &mut test));
        }
    }
    Ok(())
}

/// Shrink a failure as proptest does: simplify while the case still fails, step back
/// (complicate) when a simpler one passes, until neither moves.
fn shrink<T: ValueTree>(
    tree: &mut T,
    mut value: T::Value,
    mut reason: String,
    test: &mut impl FnMut(&T::Value) -> Result<(), String>,
) -> Shrunk<T::Value> {
    let deadline = Instant::now() + MAX_SHRINK_TIME;
    let mut moved = tree.simplify();
    let mut iters = 0;
    while moved && iters < MAX_SHRINK_ITERS && Instant::now() < deadline {
        iters += 1;
        let candidate = tree.current();
        moved = match test(&candidate) {
            Err(why) => {
                (value, reason) = (candidate, why);
                tree.simplify()
            }
            Ok(()) => tree.complicate(),
        };
    }
    (Some(value), reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_failure_shrinks_to_the_minimal_case() {
        let opts = SchemaOptions::default();
        let mut seen = 0;
        let r = run_cases(&opts, "shrink", &(0u32..1000), |v| {
            seen += 1;
            if *v >= 10 {
                Err(format!("{v} is too big"))
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err((Some(10), "10 is too big".to_string())));
        assert!(seen > 1);
        assert_eq!(run_cases(&opts, "pass", &any::<bool>(), |_| Ok(())), Ok(()));
    }
}
