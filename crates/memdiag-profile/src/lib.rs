//! memdiag-profile: the pprof profile model, its codecs, the operations on
//! profiles (merge, base subtraction, filters) and the text reports.

pub mod codec;
mod error;
pub mod leaks;
pub mod model;
pub mod strings;
mod units;

pub use codec::{decode, encode_gzip};
pub use error::Error;
pub use model::{Function, Label, Line, Location, Mapping, Profile, Sample, Samples, ValueType};
pub use strings::{StrId, StringTable};
pub mod ops;
pub mod report;
