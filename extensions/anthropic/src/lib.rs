//! The anthropic provider (being built).
