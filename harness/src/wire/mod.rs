//! The sans-IO wire layer: bytes to complete JSON texts ([`Framer`]), texts to values
//! ([`parse_value`]), and values back to bytes ([`encode`]). Nothing here does I/O, and the
//! same code serves a client reading server output and a server reading client input.

mod blocks;
mod encode;
mod framer;
mod parse;
mod syntax;

pub(crate) use encode::push_u;
pub use encode::{encode, encode_into, format_g17, Style};
pub use framer::{Frame, FrameError, Framer, Limits};
pub use parse::{normalize_dialect, parse_value, ParseError};
