//! ITF export (placeholder filled below).
