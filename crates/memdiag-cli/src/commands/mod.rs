//! One module per command.

pub mod report;
pub mod write;
