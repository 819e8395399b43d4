//! One module per command.

pub mod flame;
pub mod html;
pub mod leaks;
pub mod lint;
pub mod record;
pub mod report;
pub mod web;
pub mod write;
