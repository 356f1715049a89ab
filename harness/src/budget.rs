//! [`Budget`]: how long qmpspec waits for an endpoint, in a check or a fuzz case. One base
//! budget (`--timeout`) and named rules that grow it where more than one ordinary reply is
//! waited for.

use std::time::Duration;

/// Time allowed per KiB of input on top of the base budget: QEMU 7.2 reads a message byte by
/// byte, one byte a main-loop turn (about 3 ms a KiB on an idle machine; tokens cost more).
const PER_KIB: Duration = Duration::from_millis(20);

/// Time allowed per reply to many commands sent at once.
const PER_REPLY: Duration = Duration::from_millis(10);

/// Time allowed per byte of a fuzz case's input. Tighter than [`PER_KIB`]: a case's stall is
/// a finding only when it shows again (minimized, then confirmed), where a check has one try.
const FUZZ_PER_BYTE: Duration = Duration::from_micros(5);

/// The time budget of a check or a fuzz case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    base: Duration,
}

impl Budget {
    /// A budget of `base` for one ordinary wait.
    pub fn new(base: Duration) -> Budget {
        Budget { base }
    }

    /// One reply to one command, the greeting, or an event.
    pub fn reply(self) -> Duration {
        self.base
    }

    /// Sending `bytes` of input, which the endpoint may read slowly, and the replies it
    /// draws.
    pub fn input(self, bytes: usize) -> Duration {
        self.base + PER_KIB * kib(bytes)
    }

    /// The replies to `n` commands sent at once (pipelined), which the endpoint may queue.
    pub fn pipeline(self, n: usize) -> Duration {
        self.base * 2 + PER_REPLY * u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A fuzz case's wait after `bytes` of input: for the endpoint to read it, and for the
    /// probe's reply behind it.
    pub fn fuzz_input(self, bytes: usize) -> Duration {
        self.base + Budget::fuzz_allowance(bytes)
    }

    /// How much later than usual a reply may come after `bytes` of fuzz input before the
    /// fuzzer calls it slow.
    pub fn fuzz_allowance(bytes: usize) -> Duration {
        FUZZ_PER_BYTE * u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// How long to watch for something that must not come (an early event, a late duplicate
    /// reply): a tenth of the base budget, at most `cap`.
    pub fn linger(self, cap: Duration) -> Duration {
        (self.base / 10).min(cap)
    }
}

fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes / 1024).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let b = Budget::new(Duration::from_secs(2));
        assert_eq!(b.reply(), Duration::from_secs(2));
        assert_eq!(b.input(100), Duration::from_secs(2));
        assert_eq!(b.input(256 * 1024), Duration::from_millis(2000 + 20 * 256));
        assert_eq!(b.pipeline(200), Duration::from_secs(6));
        assert_eq!(
            b.linger(Duration::from_millis(100)),
            Duration::from_millis(100)
        );
        assert_eq!(
            Budget::new(Duration::from_millis(500)).linger(Duration::from_secs(1)),
            Duration::from_millis(50)
        );
        assert_eq!(b.fuzz_input(1000), Duration::from_millis(2005));
        assert_eq!(Budget::fuzz_allowance(4096), Duration::from_micros(20_480));
        assert_eq!(
            Budget::fuzz_allowance(usize::MAX),
            Duration::from_micros(5) * u32::MAX
        );
    }
}
