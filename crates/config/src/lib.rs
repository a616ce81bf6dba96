//! Configuration: hotline.toml and hotlines.toml, validation with file, line and key
