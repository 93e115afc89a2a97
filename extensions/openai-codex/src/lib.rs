//! The openai-codex provider (being built).
