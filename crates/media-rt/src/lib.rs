//! Media shell.
