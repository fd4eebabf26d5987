//! Lockstep conformance of the implementation against the model (issue: conformance; not built yet).
