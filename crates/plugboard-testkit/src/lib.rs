//! Test-only doubles for plugboard (work in progress in this commit series).
