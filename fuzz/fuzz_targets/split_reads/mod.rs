//! The property both framer targets check: framing a stream does not depend on how it is cut
//! into reads. The stream is framed twice, in one read (the reference) and in the given
//! reads, and the two runs are compared frame by frame as they go: the same texts, separators,
//! dialect flags and errors, in the same order. Every text respects the size limit, and the
//! buffer stays bounded (the message limit, plus the read, plus the 64 bytes of whitespace
//! kept for the separator check, plus 2).
//!
//! Nothing is allocated per input: both framers live across inputs and are reset, and texts
//! are compared in place. That keeps the targets fast, above all under AddressSanitizer.

use qmpspec::wire::{Frame, FrameError, Framer, Limits};
use std::cell::RefCell;

/// The small limits the targets can choose, so the limit paths are reached.
pub const SMALL: Limits = Limits {
    max_message_bytes: 256,
    max_depth: 8,
    max_tokens: 32,
};

/// What a frame is compared by.
type Seen<'a> = Option<Result<(&'a [u8], &'a [u8], bool), FrameError>>;

fn seen(r: Option<Result<Frame<'_>, FrameError>>) -> Seen<'_> {
    r.map(|r| r.map(|f| (f.text, f.separator, f.dialect)))
}

/// The most a framer may hold after a read of `read` bytes has been drained.
fn bound(limits: Limits, read: usize) -> usize {
    limits.max_message_bytes + read + 66
}

/// A framer fed the whole stream in one read: the reference the split run must match.
struct Reference<'a> {
    framer: &'a mut Framer,
    /// `next_frame` has run dry; what is left comes from `finish`.
    finishing: bool,
    /// The one read's length.
    read: usize,
}

impl Reference<'_> {
    /// Check `got`, the split run's next result, against the reference's next one, taken the
    /// way a reader takes them: `next_frame` until it runs dry (when the buffer must be
    /// bounded), then `finish`. `None` is the end of the frames.
    fn expect(&mut self, got: Seen<'_>) {
        let limits = self.framer.limits();
        let want = if self.finishing {
            self.framer.finish()
        } else {
            match self.framer.next_frame() {
                Some(w) => Some(w),
                None => {
                    self.finishing = true;
                    assert!(self.framer.pending().len() <= bound(limits, self.read));
                    self.framer.finish()
                }
            }
        };
        let want = seen(want);
        assert_eq!(want, got, "framing depends on read boundaries");
        if let Some(Ok((text, _, _))) = want {
            assert!(
                text.len() <= limits.max_message_bytes,
                "a text exceeded the size limit"
            );
        }
    }
}

thread_local! {
    /// The reference framer and the split one, reset for every input.
    static FRAMERS: RefCell<(Framer, Framer)> = RefCell::new(Default::default());
}

/// Frame `bytes` in one read and in reads ending at `ends` (ascending offsets, the last one
/// `bytes.len()`), and check the two runs agree.
pub fn check(limits: Limits, bytes: &[u8], ends: impl Iterator<Item = usize>) {
    FRAMERS.with_borrow_mut(|(reference, split)| {
        reference.reset(limits);
        reference.push(bytes);
        let mut reference = Reference {
            framer: reference,
            finishing: false,
            read: bytes.len(),
        };
        split.reset(limits);
        let mut last = 0;
        for end in ends {
            let chunk = &bytes[last..end];
            last = end;
            split.push(chunk);
            while let Some(r) = split.next_frame() {
                reference.expect(seen(Some(r)));
            }
            assert!(split.pending().len() <= bound(limits, chunk.len()));
        }
        while let Some(r) = split.finish() {
            reference.expect(seen(Some(r)));
        }
        reference.expect(None);
    });
}
