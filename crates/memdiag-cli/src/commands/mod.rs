//! One module per command.

pub mod flame;
pub mod leaks;
pub mod record;
pub mod report;
pub mod write;
