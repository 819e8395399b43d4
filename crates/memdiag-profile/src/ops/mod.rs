//! Operations on profiles: merge, base subtraction, scaling, filters.
