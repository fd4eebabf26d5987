//! Reference model of JPKI certificates on smartphones.
